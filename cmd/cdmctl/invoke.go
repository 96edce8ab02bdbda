package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/cdm/customer-api/internal/devkit/lambdarun"
)

var invokeCommand = &command{name: "invoke", args: "--event FILE [--bootstrap bin/bootstrap]",
	summary: "run the function under the Lambda emulator", tables: true, run: invoke}

// invoke runs the real bootstrap under the Lambda Runtime Interface Emulator
// with one event, as sam local invoke -e does, and prints the response.
func invoke(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	event := fs.String("event", "", "proxy event `file`, such as events/get-customer-200.json")
	bootstrap := fs.String("bootstrap", "bin/bootstrap", "the function's `executable`")
	rie := fs.String("emulator", "bin/aws-lambda-rie", "the Runtime Interface Emulator `executable`")
	timeout := fs.Duration("timeout", 10*time.Second, "the function's timeout")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	s := inv.s
	if *event == "" {
		return fmt.Errorf("%w: invoke needs --event FILE", errUsage)
	}
	payload, err := os.ReadFile(*event) // #nosec G703 -- the developer names the event file
	if err != nil {
		return err
	}
	if !json.Valid(payload) {
		return fmt.Errorf("%s is not JSON", *event)
	}
	env := lambdarun.Environ(os.Environ(),
		"CUSTOMERS_TABLE="+s.CustomersTable,
		"API_KEYS_TABLE="+s.APIKeysTable,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", int(timeout.Seconds())),
	)
	emu, err := lambdarun.Start(*rie, *bootstrap, env, sio.err)
	if err != nil {
		return err
	}
	defer emu.Stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout+5*time.Second)
	defer cancel()
	out, err := emu.Invoke(ctx, payload)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(out)
	}
	fmt.Fprintln(sio.out, pretty.String())
	return nil
}
