package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/customer"
)

var operatorSizes = flag.String("operator-records", "100000,1000000", "record counts of the operator step (import, sync, export, restore)")

// Peak RSS budgets of the operator step: a few hundred MB whatever the
// client's size, so that the largest client loads from a laptop.
const (
	operatorRSSBudgetMB = 256
	operatorGrowthLimit = 1.5 // peak RSS at the largest size over the smallest
)

// stepOperator runs cdmctl as an operator does, on generated files of each
// size against the local DynamoDB: import, import --sync of the same file,
// export, and restore of the client into an empty table, each a separate
// process whose peak RSS (getrusage's ru_maxrss) and records/s it reports.
func stepOperator(su *setup) error {
	var sizes []int
	for _, f := range strings.Split(*operatorSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-operator-records %q: want record counts", *operatorSizes)
		}
		sizes = append(sizes, n)
	}
	cdmctl := filepath.Join(su.tmp, "cdmctl")
	if err := goCmd("build", "-o", cdmctl, "./cmd/cdmctl"); err != nil {
		return err
	}
	rss := map[string][]float64{}
	for _, n := range sizes {
		file := filepath.Join(su.tmp, fmt.Sprintf("operator-%d.ndjson", n))
		bytesPer, err := writeOperatorFile(file, n)
		if err != nil {
			return err
		}
		table, live, keys := fmt.Sprintf("op-%d", n), fmt.Sprintf("op-%d-live", n), fmt.Sprintf("op-%d-keys", n)
		env := func(customers string) []string {
			return append(os.Environ(), "DYNAMODB_ENDPOINT="+su.endpoint, "CUSTOMERS_TABLE="+customers, "API_KEYS_TABLE="+keys)
		}
		runs := []struct {
			what, table string
			args        []string
		}{
			{"import", table, []string{"import", "--client", "op", file}},
			{"import --sync", table, []string{"import", "--client", "op", "--sync", "--force", file}},
			{"export", table, []string{"export", "--client", "op", "--out", file + ".export"}},
			{"restore", live, []string{"restore", "--from-table", table, "--client", "op", "--yes"}},
		}
		for _, t := range []string{table, live} {
			if _, err := runMeasured(cdmctl, env(t), "tables", "create"); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "  operator step: %d records, %.0f bytes each as NDJSON\n", n, bytesPer)
		for _, r := range runs {
			m, err := runMeasured(cdmctl, env(r.table), r.args...)
			if err != nil {
				return fmt.Errorf("cdmctl %s: %w", strings.Join(r.args, " "), err)
			}
			rss[r.what] = append(rss[r.what], m.rssMB)
			report(fmt.Sprintf("operator %s, %d records: peak RSS, records/s", r.what, n),
				fmt.Sprintf("%.0f MB, %.0f records/s", m.rssMB, float64(n)/m.wall.Seconds()),
				fmt.Sprintf("≤ %d MB", operatorRSSBudgetMB), check(m.rssMB <= operatorRSSBudgetMB))
		}
		for _, t := range []string{table, live, keys} {
			_, _ = su.db.DeleteTable(su.ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t)})
		}
		_ = os.Remove(file)
		_ = os.Remove(file + ".export")
	}
	if len(sizes) > 1 {
		for _, what := range []string{"import", "import --sync", "export", "restore"} {
			r := rss[what]
			growth := r[len(r)-1] / r[0]
			report(fmt.Sprintf("operator %s: peak RSS at %d over %d records", what, sizes[len(sizes)-1], sizes[0]),
				fmt.Sprintf("%.2f×", growth), fmt.Sprintf("≤ %.1f×", operatorGrowthLimit), check(growth <= operatorGrowthLimit))
		}
	}
	return nil
}

// writeOperatorFile writes n distinct records like the documentation's
// example, one a line, and returns their mean size.
func writeOperatorFile(path string, n int) (float64, error) {
	f, err := os.Create(path) // #nosec G304 -- the bench's own temporary folder
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	c := bench.ExampleCustomer()
	total := 0
	for i := range n {
		id := fmt.Sprintf("OP-%08d", i)
		c.CCID = &id
		line, err := customer.EncodeJSON(c)
		if err != nil {
			return 0, err
		}
		total += len(line) + 1
		if _, err := w.WriteString(line + "\n"); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return float64(total) / float64(n), f.Close()
}

type measured struct {
	wall  time.Duration
	rssMB float64
}

// runMeasured runs cdmctl and returns its wall time and peak RSS.
func runMeasured(cdmctl string, env []string, args ...string) (measured, error) {
	cmd := exec.Command(cdmctl, args...) // #nosec G204 -- the cdmctl this step built
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return measured{}, fmt.Errorf("%v\n%s", err, tail(stderr.String(), 2000))
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m := measured{wall: time.Since(start)}
	if ru != nil {
		m.rssMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	return m, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
