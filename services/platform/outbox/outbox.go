// Package outbox keeps a stage's events in PostgreSQL from the transaction
// that made them true until JetStream acknowledges them. A stage that
// commits a change and then fails to publish its event would otherwise
// lose the event: the retry finds nothing left to change. With the outbox
// the retry of the same work, or any replica once the row is stale, sends
// what was left.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crawlspace.dev/services/platform/bus"
)

// Stale is how long a batch waits for the writer that stored it before
// [Outbox.Resend] sends it whatever its source. It is shorter than the
// bus's duplicate window, so that a batch sent by both is delivered once.
const Stale = time.Minute

// resendRows is how many batches one transaction of [Outbox.Resend] sends.
const resendRows = 16

// Outbox stores and sends batches of events. It is safe for concurrent use.
type Outbox struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
}

// New returns an Outbox that stores through pool and publishes on b.
func New(pool *pgxpool.Pool, b *bus.Bus) *Outbox {
	return &Outbox{pool: pool, bus: b}
}

// Batch is events stored by [Outbox.Put], to send once their transaction
// has committed. A nil Batch sends nothing.
type Batch struct {
	o    *Outbox
	id   int64
	envs []bus.Envelope
}

// Put encodes envs and stores them in tx as one batch under source, which
// names the work that produced them (a message id, say), so that a retry
// of that work can resend them. Send the returned batch after tx commits.
func (o *Outbox) Put(ctx context.Context, tx pgx.Tx, source string, envs []bus.Envelope) (
	*Batch, error) {
	if len(envs) == 0 {
		return nil, nil
	}
	b := &Batch{o: o, envs: make([]bus.Envelope, len(envs))}
	subjects := make([]string, len(envs))
	ids := make([]string, len(envs))
	payloads := make([][]byte, len(envs))
	for i, e := range envs {
		data := e.Data
		if data == nil {
			var err error
			if data, err = bus.Encode(e.Message); err != nil {
				return nil, fmt.Errorf("encode %s: %w", e.Subject, err)
			}
		}
		subjects[i], ids[i], payloads[i] = e.Subject, e.MsgID, data
		b.envs[i] = bus.Envelope{Subject: e.Subject, MsgID: e.MsgID, Data: data}
	}
	err := tx.QueryRow(ctx, `
		INSERT INTO outbox (source, subjects, msg_ids, payloads) VALUES ($1, $2, $3, $4)
		RETURNING id`, source, subjects, ids, payloads).Scan(&b.id)
	if err != nil {
		return nil, fmt.Errorf("store %d events of %s: %w", len(envs), source, err)
	}
	return b, nil
}

// Len returns the number of events in the batch.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.envs)
}

// Send publishes the batch, waits for every acknowledgement and deletes the
// stored row. Should it fail, the row stays for [Outbox.Resend]; the events
// keep their message ids, so those already delivered are not delivered
// twice.
func (b *Batch) Send(ctx context.Context) error {
	if b == nil {
		return nil
	}
	if err := b.o.bus.PublishAll(ctx, b.envs); err != nil {
		return err
	}
	if _, err := b.o.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, b.id); err != nil {
		return fmt.Errorf("delete sent events: %w", err)
	}
	return nil
}

// Resend sends every stored batch of source, and every batch older than
// [Stale] whatever its source, and returns how many events of source it
// sent. Each
// batch is locked while it is sent, so that replicas resending at once
// send it once; batches another caller holds are skipped.
func (o *Outbox) Resend(ctx context.Context, source string) (int, error) {
	total := 0
	for {
		mine, all, err := o.resendSome(ctx, source)
		total += mine
		if err != nil || all == 0 {
			return total, err
		}
	}
}

// resendSome sends up to resendRows batches in one transaction, and
// returns how many events of source and in all it sent.
func (o *Outbox) resendSome(ctx context.Context, source string) (mine, all int, err error) {
	tx, err := o.pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("begin resend: %w", err)
	}
	defer func() {
		if rerr := tx.Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("roll back resend: %w", rerr))
		}
	}()
	rows, err := tx.Query(ctx, `
		SELECT id, source, subjects, msg_ids, payloads FROM outbox
		WHERE source = $1 OR created_at < now() - $2::interval
		ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`, source, Stale, resendRows)
	if err != nil {
		return 0, 0, fmt.Errorf("read stored events: %w", err)
	}
	var ids []int64
	var envs []bus.Envelope
	var id int64
	var src string
	var subjects, msgIDs []string
	var payloads [][]byte
	_, err = pgx.ForEachRow(rows, []any{&id, &src, &subjects, &msgIDs, &payloads},
		func() error {
			// The table's check keeps the three arrays of one length.
			ids = append(ids, id)
			if src == source {
				mine += len(subjects)
			}
			for i := range subjects {
				envs = append(envs, bus.Envelope{Subject: subjects[i], MsgID: msgIDs[i],
					Data: payloads[i]})
			}
			return nil
		})
	if err != nil {
		return 0, 0, fmt.Errorf("read stored events: %w", err)
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	if err := o.bus.PublishAll(ctx, envs); err != nil {
		return 0, 0, fmt.Errorf("resend %d events: %w", len(envs), err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids); err != nil {
		return 0, 0, fmt.Errorf("delete sent events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("commit resend: %w", err)
	}
	return mine, len(envs), nil
}
