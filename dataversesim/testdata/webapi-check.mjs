// Drives the simulator with the unmodified npm package dynamics-web-api
// (a client nobody in this project wrote). Run by TestDynamicsWebApiClient:
//   DV_URL TOKEN_URL CLIENT_ID CLIENT_SECRET EXPECT_ACCOUNTS NODE_EXTRA_CA_CERTS
// Prints one JSON line {"ok":true,...} or exits non-zero with the failure.
import { DynamicsWebApi } from "dynamics-web-api";

const env = process.env;
function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

// The token comes from the simulator's Entra endpoint with a plain POST.
async function token() {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: env.CLIENT_ID,
    client_secret: env.CLIENT_SECRET,
    scope: env.DV_URL + "/.default",
  });
  const res = await fetch(env.TOKEN_URL, { method: "POST", body });
  const json = await res.json();
  if (!res.ok) throw new Error("token: " + JSON.stringify(json));
  return json.access_token;
}

const api = new DynamicsWebApi({
  serverUrl: env.DV_URL,
  onTokenRefresh: token,
  dataApi: { version: "9.2" },
});

const out = {};
const who = await api.callFunction("WhoAmI");
check(who && /^[0-9a-f-]{36}$/.test(who.UserId), "WhoAmI UserId " + JSON.stringify(who));
out.userId = who.UserId;

// All pages.
const all = await api.retrieveAll({ collection: "accounts", select: ["name", "accountnumber"], maxPageSize: 50 });
check(all.value.length === Number(env.EXPECT_ACCOUNTS), `retrieveAll got ${all.value.length} want ${env.EXPECT_ACCOUNTS}`);
out.retrieved = all.value.length;

// Initial load with change tracking.
const tracked = await api.retrieveMultiple({ collection: "accounts", select: ["name"], trackChanges: true, maxPageSize: 5000 });
check(tracked.oDataDeltaLink, "no delta link: " + JSON.stringify(Object.keys(tracked)));

// Create, update, delete.
const createdId = await api.create({ collection: "accounts", data: { name: "node created" } });
check(/^[0-9a-f-]{36}$/.test(createdId), "create returned " + createdId);
await api.update({ collection: "accounts", key: createdId, data: { name: "node updated" } });
const reread = await api.retrieve({ collection: "accounts", key: createdId, select: ["name"] });
check(reread.name === "node updated", "update not visible: " + JSON.stringify(reread));
const victim = all.value[0].accountid;
await api.deleteRecord({ collection: "accounts", key: victim });

// A batch: a change set with a Content-ID reference, plus a GET.
api.startBatch();
api.create({ collection: "contacts", data: { lastname: "batch contact" }, contentId: "1" });
api.create({ collection: "tasks", data: { subject: "batch task", "regardingobjectid_contact_task@odata.bind": "$1" } });
api.update({ collection: "accounts", key: createdId, data: { telephone1: "555" } });
api.retrieveMultiple({ collection: "contacts", select: ["lastname"], filter: "lastname eq 'batch contact'" });
const results = await api.executeBatch();
check(results.length === 4, "batch results " + JSON.stringify(results));
check(results.every((r) => !(r instanceof Error)), "batch error " + JSON.stringify(results));
check(results[3].value && results[3].value.length === 1, "batch GET " + JSON.stringify(results[3]));
out.batch = results.length;

// The delta shows the new row (changed twice, once) and the deletion.
const delta = await api.retrieveMultiple({ collection: "accounts", select: ["name"], trackChanges: true }, tracked.oDataDeltaLink);
const changed = delta.value.filter((r) => r.accountid);
const deleted = delta.value.filter((r) => r["@odata.context"] && r["@odata.context"].endsWith("$deletedEntity"));
check(changed.length === 1 && changed[0].accountid === createdId && changed[0].name === "node updated", "delta changes " + JSON.stringify(changed));
check(deleted.length === 1 && deleted[0].id === victim, "delta deletes " + JSON.stringify(deleted));
check(delta.oDataDeltaLink, "delta without new delta link");
out.delta = { changed: changed.length, deleted: deleted.length };

console.log(JSON.stringify({ ok: true, ...out }));
