package collector

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Schedule runs every spec now and then once per interval, each time as a
// new run, until ctx is done. A run that fails is logged and the schedule
// goes on. It returns nil when ctx ends.
func (c *Collector) Schedule(ctx context.Context, specs []Spec, interval time.Duration) error {
	if len(specs) == 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, s := range specs {
			s.RunID = ""
			if _, err := c.Run(ctx, s); err != nil && ctx.Err() == nil {
				c.opts.Logger.Warn("scheduled collect run failed", "source", s.Source, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// maxSpecBody bounds a POST /v1/collect body.
const maxSpecBody = 64 << 10

// Handler serves POST /v1/collect: the body is a [Spec] as JSON; the run
// is recorded, then walked in the background under ctx, and the answer,
// 202, names it; a bad body gets 400. GET
// /v1/collect/{run} reports a run's progress. The function returned
// blocks until every run the handler started has ended.
func (c *Collector) Handler(ctx context.Context) (http.Handler, func()) {
	var wg sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/collect", func(w http.ResponseWriter, r *http.Request) {
		spec, err := decodeSpec(r.Body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		// The run is recorded before the answer, so a GET right after
		// the 202 finds it.
		// TODO(crawlspace): a POST naming a run that is still walking
		// starts a second walk of it; both skip names already published,
		// but they race on the cursor.
		st, err := c.begin(r.Context(), spec)
		if err != nil {
			c.opts.Logger.Error("start collect run", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "database"})
			return
		}
		wg.Go(func() { _, _ = c.walk(ctx, st) })
		writeJSON(w, http.StatusAccepted, map[string]string{"run_id": st.spec.RunID})
	})
	mux.HandleFunc("GET /v1/collect/{run}", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.Status(r.Context(), r.PathValue("run"))
		switch {
		case errors.Is(err, ErrNoRun):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			c.opts.Logger.Error("read collect run", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "database"})
		default:
			writeJSON(w, http.StatusOK, st)
		}
	})
	return mux, wg.Wait
}

func decodeSpec(body io.Reader) (Spec, error) {
	dec := json.NewDecoder(io.LimitReader(body, maxSpecBody))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, errors.New("body is not a collect spec: " + err.Error())
	}
	return s, s.Validate()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
