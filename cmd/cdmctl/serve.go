package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/devkit/localgateway"
	"github.com/cdm/customer-api/internal/emf"
)

var serveCommand = &command{name: "serve", args: "[--addr 127.0.0.1:3000] [--timeout 10s]",
	summary: "serve the API locally, as API Gateway and Lambda would", tables: true, run: serve}

func serve(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	addr := fs.String("addr", "127.0.0.1:3000", "listen `address`")
	timeout := fs.Duration("timeout", 10*time.Second, "each invocation's time limit, as the function's timeout")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	s := inv.s
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	store, err := inv.store(ctx)
	if err != nil {
		return err
	}
	handler := apigw.NewHandler(store, apikey.NewAuthorizer(store, s.KeyCacheTTL), slog.New(emf.NewHandler(sio.out, nil)), s.StorageTimeout, apigw.WithFunctionName(s.FunctionName))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{
		Handler:           localgateway.New(handler, *timeout),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(sio.err, "cdmctl: serving http://%s%s (tables %s, %s)\n", ln.Addr(), apigw.Resource, s.CustomersTable, s.APIKeysTable)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
