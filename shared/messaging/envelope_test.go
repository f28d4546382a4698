package messaging

import "testing"

func TestEnvelopeKeepsBodyBytes(t *testing.T) {
	body := []byte(`{"filter":"a<b && c>d"}`)
	text, err := WrapEnvelope(Message{ID: "m-1", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	env, ok := UnwrapEnvelope(text)
	if !ok || env.MessageID != "m-1" || string(env.Body) != string(body) {
		t.Errorf("round trip: ok=%v env=%+v text=%s", ok, env, text)
	}
	if _, ok := UnwrapEnvelope([]byte(`{"runId":"r"}`)); ok {
		t.Error("a plain JSON message was taken for an envelope")
	}
	if _, err := WrapEnvelope(Message{ID: "x", Body: []byte("not json")}); err == nil {
		t.Error("non-JSON body accepted")
	}
}
