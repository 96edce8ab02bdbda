package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
)

// errExpiring is keys list --expiring-within finding keys (exit status 3),
// so that a scheduled job can warn.
var errExpiring = errors.New("keys expire soon")

var keysListCommand = &command{name: "keys list", args: "[--client ID] [--expiring-within DURATION]",
	summary: "the keys and their status (exit status 3 when any expire within the duration)", tables: true, run: keysList}

func keysList(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "only keys of this client `ID`")
	within := fs.Duration("expiring-within", 0, "only working keys that expire within this `duration`, such as 336h; exit status 3 when there are any")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *within < 0 {
		return fmt.Errorf("%w: --expiring-within must not be negative", errUsage)
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	keys, err := admin.APIKeys(ctx, client.id)
	if err != nil {
		return err
	}
	now := time.Now()
	if *within > 0 {
		keys = slices.DeleteFunc(keys, func(k apikey.Record) bool {
			return k.State(now) != apikey.StateWorking || k.ExpiresAt.IsZero() || k.ExpiresAt.After(now.Add(*within))
		})
		slices.SortFunc(keys, func(a, b apikey.Record) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
		if len(keys) == 0 {
			fmt.Fprintf(sio.err, "no working key expires within %v\n", *within)
			return nil
		}
	}
	w := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "HASH\tCLIENT\tLABEL\tSTATUS\tCREATED\tEXPIRES\tEXPIRES IN")
	for _, k := range keys {
		status := k.StatusAt(now)
		left := "-"
		if !k.ExpiresAt.IsZero() && now.Before(k.ExpiresAt) {
			left = roughly(k.ExpiresAt.Sub(now))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", apikey.HashPrefix(k.Hash), k.ClientID, k.Label, status, k.CreatedAt.UTC().Format(time.RFC3339), rfc3339OrNever(k.ExpiresAt), left)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if *within > 0 {
		return fmt.Errorf("%w: %d working key(s) expire within %v", errExpiring, len(keys), *within)
	}
	return nil
}

// roughly says a duration in days and hours, or minutes under an hour.
func roughly(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dm", int(d.Minutes())+1)
}
