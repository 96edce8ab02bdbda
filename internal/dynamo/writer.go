package dynamo

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
)

// Writer stores and erases customers in batches of BatchSize as they are
// given, o.InFlight batches at once, at most o.Rate records a second, so
// that a caller streaming millions holds only the batches in flight. Each
// item carries a ref of the caller's (a line of a file, say), increasing
// in the order items are given: a failed batch's BatchError names its
// refs, and o.Through hears of the highest ref up to which every item is
// done, and how many items that is.
type Writer struct {
	a      *Admin
	ctx    context.Context
	cancel context.CancelFunc
	o      BatchOptions
	pace   pacer

	batch   pendingBatch
	batches chan pendingBatch
	wg      sync.WaitGroup

	mu       sync.Mutex
	written  int
	firstErr error
	nextSeq  int                 // the sequence number of the next batch sent
	through  int                 // every batch below this sequence number is done
	doneThru int                 // how many items those batches hold
	finished map[int]pendingDone // done batches above through, by sequence number

	throughMu sync.Mutex
	reported  int // the item count o.Through last heard
}

type pendingDone struct{ lastRef, n int }

type pendingBatch struct {
	seq  int
	reqs []types.WriteRequest
	refs []int
}

// NewWriter starts a Writer; Close waits for it.
func (a *Admin) NewWriter(ctx context.Context, o BatchOptions) *Writer {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	w := &Writer{a: a, ctx: ctx, cancel: cancel, o: o, pace: pacer{rate: o.Rate}, batches: make(chan pendingBatch), finished: map[int]pendingDone{}}
	for range o.InFlight {
		w.wg.Add(1)
		go w.work()
	}
	return w
}

// Put adds c, for client, to the items to store. It returns the first error
// of a batch sent so far, after which the Writer takes nothing more.
func (w *Writer) Put(client customer.ClientID, c customer.Customer, ref int) error {
	item, err := CustomerItem(client, c)
	if err != nil {
		return err
	}
	return w.add(types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}, ref)
}

// Erase adds the item with partition key pk to the items to erase.
func (w *Writer) Erase(pk string, ref int) error {
	return w.add(types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
	}}}, ref)
}

func (w *Writer) add(r types.WriteRequest, ref int) error {
	w.batch.reqs = append(w.batch.reqs, r)
	w.batch.refs = append(w.batch.refs, ref)
	if len(w.batch.reqs) == BatchSize {
		return w.send()
	}
	return w.err()
}

func (w *Writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firstErr
}

func (w *Writer) send() error {
	b := w.batch
	w.batch = pendingBatch{}
	if len(b.reqs) == 0 {
		return w.err()
	}
	b.seq = w.nextSeq
	w.nextSeq++
	select {
	case w.batches <- b:
	case <-w.ctx.Done():
		w.fail(w.ctx.Err(), b)
	}
	return w.err()
}

// Close sends what is left, waits for every batch, and returns how many
// items were stored or erased and the first error.
func (w *Writer) Close() (int, error) {
	if w.err() == nil && w.ctx.Err() == nil {
		_ = w.send()
	}
	close(w.batches)
	w.wg.Wait()
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written, w.firstErr
}

func (w *Writer) work() {
	defer w.wg.Done()
	for b := range w.batches {
		if w.err() != nil {
			continue
		}
		if err := w.pace.wait(w.ctx, len(b.reqs)); err != nil {
			w.fail(err, b)
			continue
		}
		if err := w.a.writeBatch(w.ctx, b.reqs, w.o); err != nil {
			w.fail(err, b)
			continue
		}
		w.done(b)
	}
}

func (w *Writer) fail(err error, b pendingBatch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstErr == nil {
		w.firstErr = &BatchError{CCIDs: batchCCIDs(b.reqs), Refs: b.refs, Err: err}
		w.cancel()
	}
}

func (w *Writer) done(b pendingBatch) {
	w.mu.Lock()
	w.written += len(b.reqs)
	w.finished[b.seq] = pendingDone{b.refs[len(b.refs)-1], len(b.reqs)}
	last, advanced := 0, false
	for {
		d, ok := w.finished[w.through]
		if !ok {
			break
		}
		delete(w.finished, w.through)
		w.through++
		w.doneThru += d.n
		last, advanced = d.lastRef, true
	}
	doneThru := w.doneThru
	w.mu.Unlock()
	if w.o.Written != nil {
		w.o.Written(len(b.reqs))
	}
	if w.o.Erased != nil && b.reqs[0].DeleteRequest != nil {
		w.o.Erased(batchCCIDs(b.reqs))
	}
	if advanced && w.o.Through != nil {
		// Workers finish in any order; the mark they report only rises.
		w.throughMu.Lock()
		if doneThru > w.reported {
			w.reported = doneThru
			w.o.Through(last, doneThru)
		}
		w.throughMu.Unlock()
	}
}

// pacer spaces batches so that no more than rate items a second are sent
// (0: no limit), over all the Writer's workers.
type pacer struct {
	rate float64
	mu   sync.Mutex
	next time.Time
}

func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
