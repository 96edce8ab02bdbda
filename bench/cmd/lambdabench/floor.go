package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cdm/customer-api/bench"
)

var floorStarts = flag.Int("floor-starts", 45, "cold starts of each of the floor and the bootstrap, alternating")

// floorFigures are one binary's figures over all its starts.
type floorFigures struct {
	cold, p50, p99   time.Duration // process start → first 200; warm requests
	initAll, initOwn time.Duration // package init, all packages and this module's (inittrace)
	size, zipped     int64
	colds, warms     []time.Duration
	firsts           []time.Duration // the first request after each init
	groupP50s        []time.Duration // warm p50 of each group of starts
	groupColds       []time.Duration // median cold start of each group
}

// floorGroups splits the starts into this many groups, to show how far the
// ratio moves within one run.
const floorGroups = 5

// stepFloor measures the bootstrap beside bench/floor, a Lambda that does
// the same job the plain way, under the power-tuning model at the
// template's memory size (DynamoDB over TLS, the memory's CPU share, init
// at a whole CPU). The two alternate start by start, each start followed by
// its warm requests, so that the machine's drift hits both alike.
func stepFloor(su *setup) error {
	m, err := startPowerModel(su, "like-for-like floor")
	if err != nil || m == nil {
		return err
	}
	defer m.close()
	limit, tlsEnv := m.limit, m.env
	floor := filepath.Join(su.tmp, "floor")
	if err := lambdaBuild(floor, "./bench/floor", runtime.GOARCH); err != nil {
		return err
	}
	if err := checkPowerMemory(); err != nil {
		return err
	}
	bins := []struct {
		name, path string
		f          *floorFigures
	}{{"floor", floor, &floorFigures{}}, {"bootstrap", su.bootstrap, &floorFigures{}}}
	perGroup := max(1, *floorStarts/floorGroups)
	for start := range *floorStarts {
		for i := range bins {
			b := bins[(i+start)%2] // alternate which goes first
			r, err := powerRun(limit, b.path, tlsEnv, su.event, *chosenMB, true, true, 1)
			if err != nil {
				return fmt.Errorf("%s, start %d: %w", b.name, start+1, err)
			}
			b.f.colds, b.f.warms, b.f.firsts = append(b.f.colds, r.colds...), append(b.f.warms, r.warms...), append(b.f.firsts, r.firsts...)
			if (start+1)%perGroup == 0 {
				n := perGroup * len(r.warms)
				b.f.groupP50s = append(b.f.groupP50s, pct(b.f.warms[len(b.f.warms)-n:], 50))
				b.f.groupColds = append(b.f.groupColds, median(b.f.colds[len(b.f.colds)-perGroup:]))
			}
		}
	}
	for _, b := range bins {
		f := b.f
		f.cold, f.p50, f.p99 = median(f.colds), pct(f.warms, 50), pct(f.warms, 99)
		fmt.Fprintf(os.Stderr, "  %-9s cold %8s warm p50 %8s p99 %8s\n", b.name, ms(f.cold), us(f.p50), us(f.p99))
		if f.initAll, f.initOwn, err = initTrace(b.path); err != nil {
			return err
		}
		if f.size, f.zipped, err = sizes(b.path); err != nil {
			return err
		}
	}
	fl, bs := bins[0].f, bins[1].f
	model := fmt.Sprintf("%d MB, CPU share %.1f%%, over TLS, %d alternating starts each", *chosenMB, 100*float64(*chosenMB)/bench.LambdaFullCPUMB, *floorStarts)
	report("like-for-like floor: cold (process start → first 200), median ("+model+")", ms(fl.cold), "", nil)
	report("bootstrap: cold, median (same)", ms(bs.cold), "", nil)
	report("cold: bootstrap / floor", fmt.Sprintf("%.2f (groups of %d starts: %s)", ratio(bs.cold, fl.cold), perGroup, ratioRange(bs.groupColds, fl.groupColds)), "≤ 1.05", check(ratio(bs.cold, fl.cold) <= 1.05))
	report("  of which the first request after init: floor / bootstrap", us(median(fl.firsts))+" / "+us(median(bs.firsts)), "", nil)
	report("  of which init, start → first event: floor / bootstrap", ms(fl.cold-median(fl.firsts))+" / "+ms(bs.cold-median(bs.firsts)), "", nil)
	report("warm p50: floor / bootstrap", us(fl.p50)+" / "+us(bs.p50), "", nil)
	report("warm p50: bootstrap / floor", fmt.Sprintf("%.2f (groups: %s)", ratio(bs.p50, fl.p50), ratioRange(bs.groupP50s, fl.groupP50s)), "≤ 1.05", check(ratio(bs.p50, fl.p50) <= 1.05))
	report("warm p99: bootstrap / floor", fmt.Sprintf("%.2f (%s vs %s)", ratio(bs.p99, fl.p99), us(bs.p99), us(fl.p99)), "", nil)
	report("package init, all packages (inittrace, median of 5): floor / bootstrap", fmt.Sprintf("%.2f ms / %.2f ms", msf(fl.initAll), msf(bs.initAll)), "", nil)
	report("package init of this module's packages, bootstrap", fmt.Sprintf("%.3f ms", msf(bs.initOwn)), "≤ 0.1 ms", check(bs.initOwn <= 100*time.Microsecond))
	report("binary, zipped: floor / bootstrap", fmt.Sprintf("%.2f MB, %.2f MB / %.2f MB, %.2f MB (zipped ratio %.2f)",
		float64(fl.size)/1e6, float64(fl.zipped)/1e6, float64(bs.size)/1e6, float64(bs.zipped)/1e6, float64(bs.zipped)/float64(fl.zipped)), "", nil)
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratioRange is the lowest and highest per-round ratio a[i]/b[i].
func ratioRange(a, b []time.Duration) string {
	lo, hi := 1e9, 0.0
	for i := range a {
		r := ratio(a[i], b[i])
		lo, hi = min(lo, r), max(hi, r)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

var initTraceLine = regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, ([0-9.]+) ms clock`)

// initTrace runs bin five times with GODEBUG=inittrace=1 (it stops after
// init without a Runtime API) and returns the medians of the summed init
// clock of all packages and of this module's.
func initTrace(bin string) (all, own time.Duration, err error) {
	var alls, owns []time.Duration
	for range 5 {
		cmd := exec.Command(bin) // #nosec G204 -- a binary this program built
		cmd.Env = []string{"GODEBUG=inittrace=1", "AWS_REGION=us-east-1", "DYNAMODB_WARM_UP=false", "HOME=" + os.TempDir()}
		out, _ := cmd.CombinedOutput()
		var a, o time.Duration
		lines := initTraceLine.FindAllStringSubmatch(string(out), -1)
		if len(lines) == 0 {
			return 0, 0, fmt.Errorf("%s printed no inittrace lines:\n%s", bin, out)
		}
		for _, m := range lines {
			v, _ := strconv.ParseFloat(m[2], 64)
			d := time.Duration(v * float64(time.Millisecond))
			a += d
			if strings.HasPrefix(m[1], "github.com/cdm/customer-api/") {
				o += d
			}
		}
		alls, owns = append(alls, a), append(owns, o)
	}
	return median(alls), median(owns), nil
}
