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
	"log/slog"
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
	log  *slog.Logger
}

// New returns an Outbox that stores through pool, publishes on b, and logs
// to log the stale batches it could not send.
func New(pool *pgxpool.Pool, b *bus.Bus, log *slog.Logger) *Outbox {
	return &Outbox{pool: pool, bus: b, log: log}
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
	var stored []byte
	for i, e := range envs {
		data := e.Data
		if data == nil {
			var err error
			if data, err = bus.Encode(e.Message); err != nil {
				return nil, fmt.Errorf("encode %s: %w", e.Subject, err)
			}
		}
		b.envs[i] = bus.Envelope{Subject: e.Subject, MsgID: e.MsgID, Data: data}
		stored = appendEvent(stored, b.envs[i])
	}
	err := tx.QueryRow(ctx, `
		INSERT INTO outbox (source, events) VALUES ($1, $2) RETURNING id`,
		source, stored).Scan(&b.id)
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

// Resend sends every stored batch of source and returns how many events
// it sent; an error means some are still stored. It then sends, one batch
// at a time, the batches of other sources older than [Stale], whose
// writers are gone: a batch that cannot be sent is logged and left for a
// later Resend, so that one bad batch cannot stop the caller's own work.
// Each batch is locked while it is sent, so that replicas resending at
// once send it once; batches another caller holds are skipped.
func (o *Outbox) Resend(ctx context.Context, source string) (int, error) {
	total := 0
	for {
		n, ids, err := o.resendSome(ctx, `source = $1`, source, resendRows)
		total += n
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			break
		}
	}
	failed := []int64{}
	for {
		_, ids, err := o.resendSome(ctx,
			`source <> $1 AND created_at < now() - $2::interval AND NOT id = ANY($3::bigint[])`,
			source, 1, Stale, failed)
		if err != nil {
			if ctx.Err() != nil || len(ids) == 0 {
				return total, nil
			}
			o.log.ErrorContext(ctx, "stale events not sent", "batch", ids[0], "err", err)
			failed = append(failed, ids...)
			continue
		}
		if len(ids) == 0 {
			return total, nil
		}
	}
}

// resendSome sends, in one transaction, up to limit batches that where
// picks ($1 = source, then args), and returns how many events it sent and
// the ids of the batches it read, sent or not.
func (o *Outbox) resendSome(ctx context.Context, where, source string, limit int,
	args ...any) (n int, ids []int64, err error) {
	tx, err := o.pool.Begin(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("begin resend: %w", err)
	}
	defer func() {
		if rerr := tx.Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("roll back resend: %w", rerr))
		}
	}()
	params := append([]any{source}, args...)
	rows, err := tx.Query(ctx, fmt.Sprintf(`
		SELECT id, events FROM outbox
		WHERE %s ORDER BY id LIMIT %d FOR UPDATE SKIP LOCKED`, where, limit), params...)
	if err != nil {
		return 0, nil, fmt.Errorf("read stored events: %w", err)
	}
	var envs []bus.Envelope
	var id int64
	var stored []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &stored}, func() error {
		ids = append(ids, id)
		batch, err := decodeBatch(stored)
		if err != nil {
			// What does not decode cannot be sent; it is dropped, loudly,
			// rather than kept to fail every resend of its source.
			o.log.ErrorContext(ctx, "stored events lost", "batch", id, "err", err)
			return nil
		}
		envs = append(envs, batch...)
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("read stored events: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil, nil
	}
	if len(envs) > 0 {
		if err := o.bus.PublishAll(ctx, envs); err != nil {
			return 0, ids, fmt.Errorf("resend %d events: %w", len(envs), err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids); err != nil {
		return 0, ids, fmt.Errorf("delete sent events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, ids, fmt.Errorf("commit resend: %w", err)
	}
	return len(envs), ids, nil
}

// Run resends stale batches every interval until ctx is done, so that
// events whose writer is gone are sent even while no new work arrives. It
// returns nil once ctx is done.
func (o *Outbox) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			// No source of its own: only stale batches are sent, and
			// Resend logs those it cannot send.
			if _, err := o.Resend(ctx, ""); err != nil && ctx.Err() == nil {
				o.log.WarnContext(ctx, "resend stale events", "err", err)
			}
		}
	}
}
