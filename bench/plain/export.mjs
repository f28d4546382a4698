// The plain client of make bench: what an admin would script today with the
// npm package dynamics-web-api (unmodified, pinned in package.json). It
// pages each table sequentially (5000 per page, all annotations, change
// tracking where the table has it) and writes every record as one NDJSON
// line to OUT_DIR/<entity set>.ndjson.
//   DV_URL TOKEN_URL CLIENT_ID CLIENT_SECRET TABLES (set[:t],...) OUT_DIR NODE_EXTRA_CA_CERTS
// Prints one JSON line {"records":..,"bytes":..,"pages":..,"seconds":..}.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { DynamicsWebApi } from "dynamics-web-api";

const env = process.env;

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

const api = new DynamicsWebApi({ serverUrl: env.DV_URL, onTokenRefresh: token, dataApi: { version: "9.2" } });

const start = process.hrtime.bigint();
let records = 0, bytes = 0, pages = 0;
for (const spec of env.TABLES.split(",")) {
  const [collection, tracked] = spec.split(":");
  const out = createWriteStream(`${env.OUT_DIR}/${collection}.ndjson`);
  const request = { collection, maxPageSize: 5000, includeAnnotations: "*", trackChanges: tracked === "t" };
  let next;
  do {
    const page = await api.retrieveMultiple(request, next);
    pages++;
    for (const rec of page.value) {
      const line = JSON.stringify(rec) + "\n";
      bytes += Buffer.byteLength(line);
      records++;
      if (!out.write(line)) await once(out, "drain");
    }
    next = page.oDataNextLink;
  } while (next);
  out.end();
  await once(out, "finish");
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ records, bytes, pages, seconds }));
