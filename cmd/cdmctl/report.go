package main

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"github.com/cdm/customer-api/internal/dynamo"
)

// reportUnstored names, as FILE:LINE, each record of a batch DynamoDB
// refused (the Writer's refs are lines).
func reportUnstored(sio stdio, name string, err error) {
	var batchErr *dynamo.BatchError
	if !errors.As(err, &batchErr) {
		return
	}
	reason := storageReason(batchErr.Err)
	for _, line := range batchErr.Refs {
		fmt.Fprintf(sio.err, "%s:%d: -: not stored: %s\n", name, line, reason)
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
