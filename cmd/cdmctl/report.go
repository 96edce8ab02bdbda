package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/smithy-go"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// reportUnstored names, as FILE:LINE, each record of a batch DynamoDB
// refused.
func reportUnstored(sio stdio, name string, entries []customer.Entry, err error) {
	var batchErr *dynamo.BatchError
	if !errors.As(err, &batchErr) {
		return
	}
	lines := make(map[string]int, len(entries))
	for _, e := range entries {
		lines[*e.Customer.CCID] = e.Line
	}
	reason := storageReason(batchErr.Err)
	for _, id := range batchErr.CCIDs {
		fmt.Fprintf(sio.err, "%s:%d: -: not stored: %s\n", name, lines[id], reason)
	}
}

// storageReason says why DynamoDB refused a write: its error code, never
// its message, which can repeat the request and so the records in it.
func storageReason(err error) string {
	var se *dynamo.StorageError
	if errors.As(err, &se) {
		return se.Code + " (dynamodb " + se.Op + " " + se.Table + ")"
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return err.Error()
}

// progressBar returns a bar on w when w is a terminal, else nil.
func progressBar(w io.Writer, total int) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

// batchFailure names each customer of a failed batch, so that the operator
// knows exactly what to run again.
func batchFailure(sio stdio, err error) error {
	var be *dynamo.BatchError
	if errors.As(err, &be) {
		for _, id := range be.CCIDs {
			fmt.Fprintf(sio.err, "not erased: %s: %s\n", id, storageReason(be.Err))
		}
	}
	return err
}
