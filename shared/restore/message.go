package restore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

// Step is the step of a job a restore queue message asks for.
type Step string

// Steps of a job, in order; chunk steps carry the chunk number.
const (
	StepPlan   Step = "plan"   // plan the job (Engine.Start sends it)
	StepChunk  Step = "chunk"  // write chunk Message.Chunk
	StepFinish Step = "finish" // count the results, set the final status
)

func (s Step) valid() bool { return s == StepPlan || s == StepChunk || s == StepFinish }

// Message is a restore queue message.
type Message struct {
	Job     string `json:"job"`
	Step    Step   `json:"step"`
	Chunk   int    `json:"chunk,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
}

// DecodeMessage parses a restore queue message.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("restore message: %w", err)
	}
	if !reID.MatchString(m.Job) {
		return m, fmt.Errorf("restore message: job %q is not a job id", m.Job)
	}
	if !m.Step.valid() {
		return m, fmt.Errorf("restore message: step %q: want %s, %s or %s", m.Step, StepPlan, StepChunk, StepFinish)
	}
	if m.Chunk < 0 || m.Step == StepChunk && m.Chunk == 0 {
		return m, fmt.Errorf("restore message: chunk %d of a %s step", m.Chunk, m.Step)
	}
	return m, nil
}

// send queues m; its message id is derived from the job, step, chunk and
// attempt, so a step sent twice is one message to a deduplicating queue.
func (e *Engine) send(ctx context.Context, m Message, delay time.Duration) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode restore message: %w", err)
	}
	id := fmt.Sprintf("%s-%s-%d-%d", m.Job, m.Step, m.Chunk, m.Attempt)
	return e.sender.Send(ctx, messaging.QueueRestore, messaging.Message{ID: id, Body: b, Delay: delay})
}

func newJobID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "r" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
