// Command get-customer is the Lambda function behind
// GET /cdm/client/{client_id}/customer/{ccid}.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/emf"
	"github.com/cdm/customer-api/internal/settings"
)

func main() {
	settings, err := settings.Read()
	if err != nil {
		fmt.Fprintln(os.Stderr, "get-customer:", err)
		os.Exit(1)
	}
	db, err := awsclient.DynamoDB(context.Background(), settings)
	if err != nil {
		fmt.Fprintln(os.Stderr, "get-customer:", err)
		os.Exit(1)
	}
	store := dynamo.NewStore(db, settings.CustomersTable, settings.APIKeysTable)
	if settings.WarmUp {
		// One-time work during init rather than in the first request: the
		// connection, its TLS handshake and the system certificate pool, the
		// SDK's first call.
		warmCtx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		store.Warm(warmCtx)
		cancel()
	}
	keys := apikey.NewAuthorizer(store, settings.KeyCacheTTL)
	log := slog.New(emf.NewHandler(os.Stdout, nil))
	handler := apigw.NewHandler(store, keys, log, settings.StorageTimeout, apigw.WithFunctionName(settings.FunctionName))
	// aws-lambda-go's Runtime API client clones http.DefaultTransport when it
	// starts, and its default of two idle connections per host would make
	// most of the concurrent invocations under Managed Instances open a new
	// connection for each /next and each response.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, 2*settings.MaxConcurrency)
	}
	// The handler takes the event as raw JSON and returns the response
	// encoded (apigw.Handler.Lambda): aws-lambda-go builds neither.
	lambda.Start(handler.Lambda())
}
