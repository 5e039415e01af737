package conformance

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Results                 []Result
	Passed, Failed, Skipped int
	Duration                time.Duration
}

func (r *Report) add(res Result) {
	r.Results = append(r.Results, res)
	switch res.Outcome {
	case Pass:
		r.Passed++
	case Fail:
		r.Failed++
	case Skip:
		r.Skipped++
	}
}

// Run runs the cases of suite that cfg selects against cfg's endpoints. If
// progress is not nil, each result is written to it as it comes. The error
// is for a run that could not start (bad pattern, unreachable endpoint);
// failed cases are in the report.
func Run(ctx context.Context, cfg Config, suite Suite, progress io.Writer) (*Report, error) {
	cfg = cfg.withDefaults()
	cases, err := suite.Select(cfg.Focus, cfg.Skip)
	if err != nil {
		return nil, err
	}
	e, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.close()
	start := time.Now()
	rep := &Report{}
	for _, k := range cases {
		res := runCase(ctx, e, k)
		rep.add(res)
		if progress != nil {
			writeResult(progress, res)
		}
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// RunTests runs the default suite as subtests of t: a failed case fails its
// subtest, a skipped one is skipped with the reason. The report is returned
// so that callers can insist that nothing was skipped.
func RunTests(t *testing.T, cfg Config) *Report {
	t.Helper()
	return RunSuiteTests(t, cfg, DefaultSuite())
}

// RunSuiteTests is RunTests with another suite (HostileSuite).
func RunSuiteTests(t *testing.T, cfg Config, suite Suite) *Report {
	t.Helper()
	cfg = cfg.withDefaults()
	cases, err := suite.Select(cfg.Focus, cfg.Skip)
	if err != nil {
		t.Fatal(err)
	}
	e, err := connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	rep := &Report{}
	for _, k := range cases {
		t.Run(k.FullName(), func(t *testing.T) {
			res := runCase(t.Context(), e, k)
			rep.add(res)
			for _, l := range res.Logs {
				t.Log(l)
			}
			switch res.Outcome {
			case Fail:
				t.Error(res.Reason)
			case Skip:
				t.Skip(res.Reason)
			}
		})
	}
	return rep
}

// WriteTo writes the whole report: one line per case, failures and skip
// reasons indented below it, and the totals.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	for _, res := range r.Results {
		writeResult(cw, res)
	}
	writeTotals(cw, r)
	return cw.n, cw.err
}

// Totals is the summary line, e.g. "40 passed, 1 failed, 2 skipped".
func (r *Report) Totals() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", r.Passed, r.Failed, r.Skipped)
}

func writeResult(w io.Writer, res Result) {
	fmt.Fprintf(w, "%-4s %-45s %s\n", res.Outcome, res.Name, res.Duration.Round(time.Millisecond))
	if res.Reason != "" {
		prefix := "     "
		if res.Outcome == Skip {
			prefix += "skipped: "
		}
		for _, l := range strings.Split(res.Reason, "\n") {
			fmt.Fprintf(w, "%s%s\n", prefix, l)
		}
	}
	if res.Outcome == Fail {
		for _, l := range res.Logs {
			fmt.Fprintf(w, "     log: %s\n", l)
		}
	}
}

func writeTotals(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\n%s in %s\n", r.Totals(), r.Duration.Round(time.Millisecond))
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
