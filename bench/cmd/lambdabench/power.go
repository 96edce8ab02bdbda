package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/lambdarun"
	"github.com/cdm/customer-api/internal/devkit/samtemplate"
	"github.com/cdm/customer-api/internal/devkit/tlsproxy"
)

var (
	powerCold  = flag.Int("power-cold-starts", 5, "cold starts per power-tuning row")
	powerWarm  = flag.Int("power-warm", 60, "warm requests after each cold start")
	powerChart = flag.String("power-chart", "bench/results/power-tuning.png", "where to draw latency against cost")
	chosenMB   = flag.Int("memory", 0, "the memory size (MB) whose budgets are checked; 0: template.yaml's MemorySize")
	powerSizes = flag.String("power-sizes", "128,256,512,1024,1769", "memory sizes (MB) of the power-tuning table")
)

// Arm64 prices in us-east-1 (first tier), as AWS's Lambda pricing page
// lists them; docs/performance.md gives the date they were read.
const (
	pricePerGBSecond  = 0.0000133334
	pricePerMRequests = 0.20
	pricesAsOf        = "2026-11-27"
	pricesRegion      = "us-east-1, arm64, first tier"
)

// powerRow is one memory size and warm-up setting, with init either held to
// the memory's CPU share or given a whole CPU.
type powerRow struct {
	memMB          int
	warmUp         bool
	initFull       bool
	cold, first    time.Duration // process start → first 200; the first request alone
	p50, p99       time.Duration // warm requests, time in the function
	getP50, getP99 time.Duration // a plain SDK client's GetItem under the same share
	costPerM       float64
	colds, firsts  []time.Duration // every cold start, and its first request
	warms          []time.Duration // every warm request measured
}

var powerRows []powerRow

// stepPower runs the bootstrap as Lambda runs it, over TLS to DynamoDB and
// held to memory/1769 of a CPU from its first /next on, for each memory size
// with init-time warm-up off and on, and init at a whole CPU or at the
// share. It skips, saying why, where no cgroup can be made.
func stepPower(su *setup) error {
	m, err := startPowerModel(su, "power tuning (CPU share per memory size)")
	if err != nil || m == nil {
		return err
	}
	defer m.close()
	limit, tlsEnv := m.limit, m.env
	getitem := filepath.Join(su.tmp, "getitem")
	if err := goCmd("build", "-trimpath", "-o", getitem, "./bench/getitem"); err != nil {
		return err
	}

	for _, s := range strings.Split(*powerSizes, ",") {
		mem, err := strconv.Atoi(s)
		if err != nil || mem < 128 {
			return fmt.Errorf("-power-sizes: %q is not a memory size in MB", s)
		}
		share := float64(mem) / bench.LambdaFullCPUMB
		getP50, getP99, err := bareGetItem(limit, share, getitem, tlsEnv, su.settings.CustomersTable)
		if err != nil {
			return fmt.Errorf("%d MB: bare GetItem: %w", mem, err)
		}
		for _, warmUp := range []bool{false, true} {
			for _, initFull := range []bool{true, false} {
				r, err := powerRun(limit, su.bootstrap, tlsEnv, su.event, mem, warmUp, initFull, *powerCold)
				if err != nil {
					return fmt.Errorf("%d MB, warm-up %v: %w", mem, warmUp, err)
				}
				r.getP50, r.getP99 = getP50, getP99
				powerRows = append(powerRows, r)
				fmt.Fprintf(os.Stderr, "  %4d MB warm-up %-5v init %-9s cold %8s first %8s warm p50 %8s p99 %8s GetItem p50 %8s $%.4f/M\n",
					mem, warmUp, initLabel(initFull), ms(r.cold), us(r.first), us(r.p50), us(r.p99), us(r.getP50), r.costPerM)
			}
		}
	}
	return checkPowerBudgets()
}

// powerModel is what runs a bootstrap as Lambda does: a cgroup to hold it
// to a CPU share, and an environment that reaches DynamoDB over TLS through
// a proxy, verified against the system pool as in Lambda.
type powerModel struct {
	limit *bench.CPULimit
	proxy *tlsproxy.Proxy
	env   []string
}

// startPowerModel sets the model up, or reports the step as skipped, saying
// why, and returns nil where no cgroup can be made.
func startPowerModel(su *setup, step string) (*powerModel, error) {
	limit, err := bench.NewCPULimit(fmt.Sprintf("cdm-bench-%d", os.Getpid()))
	if errors.Is(err, bench.ErrNoCPULimit) {
		fmt.Fprintf(os.Stderr, "SKIPPED %s: %v\n", step, err)
		report(step, "SKIPPED: "+err.Error(), "", nil)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	proxy, err := tlsproxy.Start(su.tmp, strings.TrimPrefix(su.endpoint, "http://"))
	if err != nil {
		_ = limit.Close()
		return nil, err
	}
	// As in Lambda: DynamoDB over HTTPS, verified against the system pool
	// (one bundle, here the system's plus the test CA), no SDK CA bundle.
	emptyDir, err := os.MkdirTemp(su.tmp, "no-cert-dir")
	if err != nil {
		_ = proxy.Close()
		_ = limit.Close()
		return nil, err
	}
	env := lambdarun.Unset(su.fnEnv, "AWS_CA_BUNDLE")
	env = lambdarun.Environ(env, "DYNAMODB_ENDPOINT="+proxy.URL, "SSL_CERT_FILE="+proxy.CertFile, "SSL_CERT_DIR="+emptyDir)
	return &powerModel{limit: limit, proxy: proxy, env: env}, nil
}

func (m *powerModel) close() {
	_ = m.proxy.Close()
	_ = m.limit.Close()
}

func initLabel(full bool) string {
	if full {
		return "whole CPU"
	}
	return "share"
}

// powerRun starts the bootstrap *powerCold times and measures each start,
// its first request, and *powerWarm warm requests after it.
func powerRun(limit *bench.CPULimit, bin string, fnEnv []string, event []byte, mem int, warmUp, initFull bool, starts int) (powerRow, error) {
	r := powerRow{memMB: mem, warmUp: warmUp, initFull: initFull}
	share := float64(mem) / bench.LambdaFullCPUMB
	var colds, firsts, warms []time.Duration
	var billedMS float64
	for range starts {
		api, err := bench.StartRuntimeAPI()
		if err != nil {
			return r, err
		}
		initShare := share
		if initFull {
			initShare = 1
		}
		if err := limit.Set(initShare); err != nil {
			_ = api.Close()
			return r, err
		}
		var setErr error
		api.OnFirstNext = func() { setErr = limit.Set(share) }
		argv := limit.Wrap(bin)
		cmd := exec.Command(argv[0], argv[1:]...) // #nosec G204 -- the bootstrap this program built
		cmd.Env = lambdarun.Environ(fnEnv, "AWS_LAMBDA_RUNTIME_API="+api.Addr, "AWS_LAMBDA_FUNCTION_NAME=bench",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(mem), "DYNAMODB_WARM_UP="+strconv.FormatBool(warmUp))
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		start := time.Now()
		if err := cmd.Start(); err != nil {
			_ = api.Close()
			return r, err
		}
		res, ok := api.Invoke(event, 30*time.Second)
		if ok && bench.StatusOf(res.Payload) == 200 && setErr == nil {
			colds, firsts = append(colds, res.Done.Sub(start)), append(firsts, res.Done.Sub(res.Handed))
			for range *powerWarm {
				w, ok := api.Invoke(event, 30*time.Second)
				if !ok || bench.StatusOf(w.Payload) != 200 {
					res, ok = w, false
					break
				}
				d := w.Done.Sub(w.Handed)
				warms = append(warms, d)
				billedMS += math.Ceil(float64(d) / float64(time.Millisecond))
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = api.Close()
		if setErr != nil {
			return r, setErr
		}
		if !ok || bench.StatusOf(res.Payload) != 200 {
			return r, fmt.Errorf("invocation failed: %s", res.Payload)
		}
	}
	r.cold, r.first = median(colds), median(firsts)
	r.p50, r.p99 = pct(warms, 50), pct(warms, 99)
	r.colds, r.firsts, r.warms = colds, firsts, warms
	meanBilledSeconds := billedMS / float64(len(warms)) / 1000
	r.costPerM = pricePerMRequests + 1e6*float64(mem)/1024*meanBilledSeconds*pricePerGBSecond
	return r, nil
}

// bareGetItem runs a plain SDK client held to share of a CPU from its start
// and returns the p50 and p99 of its reads, leaving out the first ones
// (connection, TLS, SDK first use).
func bareGetItem(limit *bench.CPULimit, share float64, bin string, env []string, table string) (time.Duration, time.Duration, error) {
	if err := limit.Set(share); err != nil {
		return 0, 0, err
	}
	const n, skip = 320, 20
	argv := limit.Wrap(bin)
	cmd := exec.Command(argv[0], argv[1:]...) // #nosec G204 -- the baseline this program built
	cmd.Env = lambdarun.Environ(env, "GETITEM_N="+strconv.Itoa(n), "GETITEM_TABLE="+table,
		"GETITEM_PK="+customer.Key(bench.ClientID, *bench.ExampleCustomer().CCID))
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, errOut.String())
	}
	var ds []time.Duration
	for i, line := range strings.Fields(string(out)) {
		v, err := strconv.Atoi(line)
		if err != nil {
			return 0, 0, err
		}
		if i >= skip {
			ds = append(ds, time.Duration(v)*time.Microsecond)
		}
	}
	if len(ds) == 0 {
		return 0, 0, errors.New("no reads")
	}
	return pct(ds, 50), pct(ds, 99), nil
}

// checkPowerBudgets reports the budgets at the template's memory size, with
// init at a whole CPU (what AWS documents for on-demand functions) and the
// warm-up default that the table chose.
func checkPowerBudgets() error {
	if err := checkPowerMemory(); err != nil {
		return err
	}
	for _, r := range powerRows {
		if r.memMB != *chosenMB || !r.initFull || !r.warmUp {
			continue
		}
		label := fmt.Sprintf("%d MB over TLS, CPU share %.1f%%, init-time warm-up", r.memMB, 100*float64(r.memMB)/bench.LambdaFullCPUMB)
		report("first request after a cold start / warm p50 ("+label+")",
			fmt.Sprintf("%.2f (%v vs %v)", float64(r.first)/float64(r.p50), us(r.first), us(r.p50)), "≤ 2.5", check(float64(r.first) <= 2.5*float64(r.p50)))
		report("warm p99 / warm p50 ("+label+")",
			fmt.Sprintf("%.2f (%v vs %v)", float64(r.p99)/float64(r.p50), us(r.p99), us(r.p50)), "≤ 2", check(float64(r.p99) <= 2*float64(r.p50)))
		report("  bare GetItem p99 / p50 under the same share, for comparison",
			fmt.Sprintf("%.2f (%v vs %v)", float64(r.getP99)/float64(r.getP50), us(r.getP99), us(r.getP50)), "", nil)
		report("warm p50 / bare GetItem p50 ("+label+")",
			fmt.Sprintf("%.2f (%v vs %v)", float64(r.p50)/float64(r.getP50), us(r.p50), us(r.getP50)), "≤ 1.1", check(float64(r.p50) <= 1.1*float64(r.getP50)))
		return nil
	}
	return fmt.Errorf("no power-tuning row at -memory %d MB", *chosenMB)
}

// checkPowerMemory sets -memory, when not given, to template.yaml's
// MemorySize.
func checkPowerMemory() error {
	if *chosenMB != 0 {
		return nil
	}
	tmpl, err := samtemplate.Load("template.yaml")
	if err != nil {
		return err
	}
	m, ok := samtemplate.Get(samtemplate.Resource(tmpl, "GetCustomerFunction"), "Properties", "MemorySize").(float64)
	if !ok {
		return errors.New("template.yaml: the function's MemorySize is not a number")
	}
	*chosenMB = int(m)
	return nil
}

// powerTable is the power-tuning table in Markdown.
func powerTable() string {
	if len(powerRows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPower tuning: the bootstrap over TLS to the local DynamoDB, held to memory/1769 of a CPU (CFS quota, 100 ms period) from its first /next on; init at a whole CPU or at the same share. Medians of %d cold starts; warm figures over %d requests (%d after each start). Cost per million requests: $%.2f per million requests plus $%.10f per GB-second for the mean billed duration of a warm request (%s, as of %s).\n\n",
		*powerCold, *powerCold**powerWarm, *powerWarm, pricePerMRequests, pricePerGBSecond, pricesRegion, pricesAsOf)
	fmt.Fprintln(&b, "| memory | CPU share | init | init-time warm-up | process start → first 200 | first request after init | warm p50 | warm p99 | bare GetItem p50 / p99 | cost per 1M |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range powerRows {
		fmt.Fprintf(&b, "| %d MB | %.1f%% | %s | %s | %s | %s | %s | %s | %s / %s | $%.4f |\n",
			r.memMB, 100*float64(r.memMB)/bench.LambdaFullCPUMB, initLabel(r.initFull), map[bool]string{true: "on", false: "off"}[r.warmUp],
			ms(r.cold), us(r.first), us(r.p50), us(r.p99), us(r.getP50), us(r.getP99), r.costPerM)
	}
	return b.String()
}

// drawPowerChart plots warm p50, warm p99 and the cold start against cost
// per million, one point per memory size, for init at a whole CPU with
// init-time warm-up on.
func drawPowerChart(path string) error {
	var rows []powerRow
	for _, r := range powerRows {
		if r.initFull && r.warmUp {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b powerRow) int { return a.memMB - b.memMB })
	p := plot.New()
	p.Title.Text = "Latency against cost per million requests (arm64, over TLS, init-time warm-up)"
	p.X.Label.Text = "cost per million requests (USD)"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	series := []struct {
		name string
		of   func(powerRow) time.Duration
	}{
		{"warm p50", func(r powerRow) time.Duration { return r.p50 }},
		{"warm p99", func(r powerRow) time.Duration { return r.p99 }},
		{"first request after a cold start", func(r powerRow) time.Duration { return r.first }},
		{"process start → first 200", func(r powerRow) time.Duration { return r.cold }},
	}
	var lines []any
	for _, s := range series {
		pts := make(plotter.XYs, len(rows))
		for i, r := range rows {
			pts[i].X, pts[i].Y = r.costPerM, float64(s.of(r))/float64(time.Millisecond)
		}
		lines = append(lines, s.name, pts)
	}
	// Points, not lines: the cost does not grow with memory in step, since
	// billed durations round up to whole milliseconds.
	if err := plotutil.AddScatters(p, lines...); err != nil {
		return err
	}
	labels := plotter.XYLabels{}
	for _, r := range rows {
		for _, d := range []time.Duration{r.p50, r.cold} {
			labels.XYs = append(labels.XYs, plotter.XY{X: r.costPerM, Y: float64(d) / float64(time.Millisecond)})
			labels.Labels = append(labels.Labels, fmt.Sprintf(" %d MB", r.memMB))
		}
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	p.Add(l)
	// Headroom above the highest point keeps the legend clear of the data.
	highest := 0.0
	for _, r := range rows {
		highest = max(highest, float64(max(r.p99, r.cold))/float64(time.Millisecond))
	}
	p.Y.Max = highest * 8
	p.Legend.Top = true
	p.Legend.Left = true
	p.X.Padding, p.Y.Padding = vg.Points(20), vg.Points(10)
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}
