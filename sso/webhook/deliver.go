package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/sso"
)

// finishTimeout bounds the recording of an answered request.
const finishTimeout = 10 * time.Second

// result is the outcome of one request.
type result struct {
	status  int
	latency time.Duration
	kind    string // "" on a 2xx answer
	err     error
}

func (r result) ok() bool { return r.kind == "" }

// Deliver runs one delivery pass: it claims due deliveries (up to four per
// worker), sends them with Config.Workers at once, and reports whether it
// claimed a full batch. Run calls it.
func (d *Dispatcher) Deliver(ctx context.Context) (bool, error) {
	batch := 4 * d.cfg.Workers
	now := d.cfg.Now().UTC()
	cctx, cancel := claimContext(ctx)
	ds, err := d.cfg.Store.ClaimDeliveries(cctx, now, now.Add(d.cfg.Lease), batch)
	cancel()
	if err != nil || len(ds) == 0 {
		return false, err
	}
	// What is claimed is attempted even if the Dispatcher is stopping, or
	// handed back: a claim left behind would hold its deliveries for a
	// whole lease.
	ctx = context.WithoutCancel(ctx)
	eps := map[string]*Endpoint{}
	for _, dl := range ds {
		if _, ok := eps[dl.EndpointID]; ok {
			continue
		}
		e, err := d.cfg.Store.GetEndpoint(ctx, dl.EndpointID)
		if err != nil && !errors.Is(err, sso.ErrNotFound) {
			return false, errors.Join(err, d.release(ctx, ds, now))
		}
		eps[dl.EndpointID] = e // nil when deleted meanwhile
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, d.cfg.Workers)
	)
	for _, dl := range ds {
		e := eps[dl.EndpointID]
		if e == nil {
			continue // deleted with its deliveries
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := d.deliverOne(ctx, e, dl); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(ds) == batch, errors.Join(errs...)
}

// claimContext is the context of a claim: bounded by finishTimeout but not
// cut off by ctx ending. A claim cancelled in flight may have committed
// without its caller learning what it holds, which would keep that work
// from every replica for a whole lease; a stopping Dispatcher finishes its
// claim instead, and then attempts or hands back what it got.
func claimContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
}

// release hands claimed deliveries back unattempted, due at now.
func (d *Dispatcher) release(ctx context.Context, ds []*Delivery, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	var errs []error
	for _, dl := range ds {
		dl.NextAttemptAt = now
		errs = append(errs, d.finish(ctx, dl, nil))
	}
	return errors.Join(errs...)
}

// deliverOne sends dl to e, logs the attempt and schedules what follows.
func (d *Dispatcher) deliverOne(ctx context.Context, e *Endpoint, dl *Delivery) error {
	if !e.Enabled {
		dl.Status = StatusPaused
		return d.finish(ctx, dl, nil)
	}
	r := d.post(ctx, e, dl.EventID, dl.Payload, "application/json")
	// The request ran to its end even if the Dispatcher is stopping (see
	// post), and its outcome is recorded, so a stop neither loses nor
	// repeats a delivery.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	now := d.cfg.Now().UTC()
	dl.Attempts++
	a := &Attempt{DeliveryID: dl.ID, EndpointID: e.ID, Number: dl.Attempts, At: now.Add(-r.latency),
		StatusCode: r.status, Latency: r.latency, ErrorKind: r.kind}
	dl.LastStatus, dl.LastError = r.status, ""
	if r.ok() {
		dl.Status, dl.DeliveredAt = StatusDelivered, now
		if err := d.finish(ctx, dl, a); err != nil {
			return err
		}
		if e.Failures > 0 || !e.FailingSince.IsZero() {
			return d.cfg.Store.RecordSuccess(ctx, e.ID)
		}
		return nil
	}
	dl.LastError = r.err.Error()
	if dl.Attempts >= d.cfg.MaxAttempts {
		dl.Status = StatusFailed
	} else {
		dl.Status, dl.NextAttemptAt = StatusPending, now.Add(d.backoff(dl.Attempts))
	}
	if err := d.finish(ctx, dl, a); err != nil {
		return err
	}
	return d.endpointFailed(ctx, e)
}

// finish writes dl's new state; a lost lease (the worker was too slow and
// another took over) is not an error of this pass.
func (d *Dispatcher) finish(ctx context.Context, dl *Delivery, a *Attempt) error {
	err := d.cfg.Store.FinishDelivery(ctx, dl, a)
	if errors.Is(err, sso.ErrConflict) {
		d.cfg.Logger.WarnContext(ctx, "webhook: delivery lease lost", "delivery", dl.ID)
		return nil
	}
	return err
}

// post sends one signed request to e and classifies the outcome: 2xx is
// success, anything else a failure of some kind.
func (d *Dispatcher) post(ctx context.Context, e *Endpoint, id string, body []byte, contentType string) result {
	secrets, err := d.secrets(e)
	if err != nil {
		return result{kind: ErrorKindBlocked, err: err}
	}
	timeout := min(e.Timeout, d.cfg.Lease/2)
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// A request in flight is not cut off when ctx ends (the Dispatcher
	// stopping): it runs to its answer or its timeout, so that its outcome
	// is known and recorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	ts := d.cfg.Now()
	sig, err := Sign(id, ts, body, secrets...)
	if err != nil {
		return result{kind: ErrorKindBlocked, err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return result{kind: ErrorKindBlocked, err: err}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "ssokit-webhook")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return result{latency: time.Since(start), kind: errorKind(err), err: err}
	}
	// Read at most MaxResponseBytes, so the connection can be reused
	// without trusting the receiver's size.
	_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, e.MaxResponseBytes))
	resp.Body.Close()
	r := result{status: resp.StatusCode, latency: time.Since(start)}
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		r.kind, r.err = ErrorKindStatus, fmt.Errorf("webhook: endpoint answered HTTP %d", resp.StatusCode)
	case rerr != nil && ctx.Err() != nil:
		r.kind, r.err = ErrorKindTimeout, rerr
	}
	return r
}

// errorKind classifies a failed request.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case egress.Refused(err):
		return ErrorKindBlocked
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrorKindTimeout
	}
	return ErrorKindNetwork
}
