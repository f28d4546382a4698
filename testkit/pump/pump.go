package pump

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

// Handler processes one message of queue; delivery counts from 1. An error
// makes the message come again. backup.Engine.Handle has this shape.
type Handler func(ctx context.Context, queue string, body []byte, delivery int) error

// Handlers maps each pumped queue to the handler of its messages.
type Handlers map[string]Handler

// On returns hs with h handling queues (hs may be nil).
func (hs Handlers) On(h Handler, queues ...string) Handlers {
	out := Handlers{}
	for q, x := range hs {
		out[q] = x
	}
	for _, q := range queues {
		out[q] = h
	}
	return out
}

// Delivery is one message as the pump saw it.
type Delivery struct {
	Queue   string
	Message messaging.Message
	// Count is how many times the message was delivered so far.
	Count int
	// Err is the outcome of the last delivery (nil: handled).
	Err error
}

// Options script the deliveries. Zero values take the documented defaults.
type Options struct {
	// Workers is how many deliveries run at once (default 1: one at a time,
	// the oldest due message first).
	Workers int
	// MaxDeliveries is how many times a failing message is delivered before
	// it is set aside as poison (default 10, the queues' setting).
	MaxDeliveries int
	// RetryDelay is how long a failed message waits before it is due again
	// (default 20 ms).
	RetryDelay time.Duration
	// Copies says how many times each message sent to a queue is queued
	// (nil or less than 1: once); 2 delivers every message twice, as an
	// at-least-once host may.
	Copies func(queue string) int
	// Shuffle, when set, picks a random due message instead of the oldest
	// (seeded, so a failure can be replayed).
	Shuffle *rand.Rand
	// After, when set, runs after each delivery (Err says how it went).
	// Returning true stops the pump, as a crashed host: that message and
	// every message queued but not delivered are returned in Result.Left.
	After func(d Delivery) (stop bool)
	// Limit ends the pump with an error after this many deliveries (default
	// 100,000), so a run that never ends fails instead of hanging.
	Limit int
}

// Result says what the pump did.
type Result struct {
	// Deliveries counts every delivery, retries and copies included.
	Deliveries int
	// Poison lists the messages that failed MaxDeliveries times.
	Poison []Delivery
	// Left lists the messages not handled when After stopped the pump.
	Left []Delivery
	// OutOfOrder counts deliveries that overtook a due message sent earlier
	// (only with Shuffle).
	OutOfOrder int
}

type item struct {
	d         Delivery
	notBefore time.Time
	seq       int
}

// Run delivers the messages sender holds for the queues of handlers, and
// those the handlers send meanwhile, until none is left or After stops the
// pump. Messages for other queues stay in sender. The error is ctx's, or
// the Limit's.
func Run(ctx context.Context, sender *messaging.MemorySender, handlers Handlers, o Options) (Result, error) {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 10
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 20 * time.Millisecond
	}
	if o.Limit <= 0 {
		o.Limit = 100_000
	}
	p := &pump{ctx: ctx, sender: sender, handlers: handlers, o: o, queues: queueOrder(handlers)}
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work()
		}()
	}
	wg.Wait()
	if p.stopped {
		for _, it := range p.queue {
			p.res.Left = append(p.res.Left, it.d)
		}
	}
	return p.res, p.err
}

// queueOrder is the order messages are taken from the sender in: the
// app's queues as messaging lists them, then any other, by name.
func queueOrder(hs Handlers) []string {
	var out, other []string
	for _, q := range messaging.Queues() {
		if hs[q] != nil {
			out = append(out, q)
		}
	}
	for q := range hs {
		if !slices.Contains(out, q) {
			other = append(other, q)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

type pump struct {
	ctx      context.Context
	sender   *messaging.MemorySender
	handlers Handlers
	o        Options
	queues   []string

	mu       sync.Mutex
	queue    []*item
	seq      int
	inflight int
	stopped  bool
	err      error
	res      Result
}

// collect moves what the sender holds into the queue. Called with mu held.
func (p *pump) collect() {
	now := time.Now()
	for _, q := range p.queues {
		for _, m := range p.sender.Take(q) {
			n := 1
			if p.o.Copies != nil {
				n = max(p.o.Copies(q), 1)
			}
			for range n {
				p.seq++
				p.queue = append(p.queue, &item{d: Delivery{Queue: q, Message: m}, notBefore: now.Add(m.Delay), seq: p.seq})
			}
		}
	}
}

// next removes and returns the message to deliver now, or nil and when the
// soonest queued message is due (zero when none is queued). Called with mu
// held.
func (p *pump) next(now time.Time) (*item, time.Time) {
	var due []int
	var soonest time.Time
	for i, it := range p.queue {
		if !it.notBefore.After(now) {
			due = append(due, i)
		} else if soonest.IsZero() || it.notBefore.Before(soonest) {
			soonest = it.notBefore
		}
	}
	if len(due) == 0 {
		return nil, soonest
	}
	pick := due[0]
	if p.o.Shuffle != nil {
		pick = due[p.o.Shuffle.IntN(len(due))]
		for _, j := range due {
			if p.queue[j].seq < p.queue[pick].seq {
				p.res.OutOfOrder++
				break
			}
		}
	} else {
		for _, j := range due[1:] {
			a, b := p.queue[j], p.queue[pick]
			if a.notBefore.Before(b.notBefore) || (a.notBefore.Equal(b.notBefore) && a.seq < b.seq) {
				pick = j
			}
		}
	}
	it := p.queue[pick]
	p.queue = slices.Delete(p.queue, pick, pick+1)
	return it, time.Time{}
}

func (p *pump) work() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.stopped || p.err != nil {
			return
		}
		if err := p.ctx.Err(); err != nil {
			p.err = err
			return
		}
		p.collect()
		if len(p.queue) == 0 && p.inflight == 0 {
			return
		}
		it, soonest := p.next(time.Now())
		if it == nil {
			// Nothing due: wait for a delay to pass or for a delivery in
			// flight to send more.
			wait := 2 * time.Millisecond
			if !soonest.IsZero() {
				wait = min(max(time.Until(soonest), 0), 50*time.Millisecond)
			}
			p.mu.Unlock()
			time.Sleep(wait)
			p.mu.Lock()
			continue
		}
		if p.res.Deliveries >= p.o.Limit {
			p.err = fmt.Errorf("pump: %d deliveries and the queues are not empty (Options.Limit)", p.res.Deliveries)
			p.queue = append(p.queue, it)
			return
		}
		it.d.Count++
		p.res.Deliveries++
		p.inflight++
		p.mu.Unlock()
		it.d.Err = p.handlers[it.d.Queue](p.ctx, it.d.Queue, it.d.Message.Body, it.d.Count)
		stop := p.o.After != nil && p.o.After(it.d)
		p.mu.Lock()
		p.inflight--
		switch {
		case stop:
			p.stopped = true
			p.res.Left = append(p.res.Left, it.d)
		case it.d.Err == nil:
		case it.d.Count >= p.o.MaxDeliveries:
			p.res.Poison = append(p.res.Poison, it.d)
		default:
			it.notBefore = time.Now().Add(p.o.RetryDelay)
			p.queue = append(p.queue, it)
		}
	}
}
