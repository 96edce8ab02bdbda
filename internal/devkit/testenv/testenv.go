// Package testenv gives tests a real local DynamoDB: one dynalite server per
// test binary, started on first use and stopped by Main, and fresh tables
// for each test.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/dynalite"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/settings"
)

// DevKey is the documented local development key that make run registers
// for DevClient.
const (
	DevKey    = "cdmk_local_dev_key_do_not_use_in_prod"
	DevClient = "demo-clinic"
)

var (
	mu     sync.Mutex
	server *dynalite.Server
	seq    atomic.Int64
)

// Main runs the tests and then stops the local DynamoDB if one was started.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if server != nil {
		server.Stop()
	}
	mu.Unlock()
	os.Exit(code)
}

// Endpoint returns the URL of the test binary's local DynamoDB, starting it
// on first use. It fails the test, with the reason, when it cannot start.
func Endpoint(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if server == nil {
		s, err := dynalite.Start()
		if err != nil {
			t.Fatalf("local DynamoDB: %v", err)
		}
		server = s
	}
	return server.Endpoint
}

// Client returns a DynamoDB client for endpoint, built as the Lambda builds its own.
func Client(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	db, err := awsclient.DynamoDB(context.Background(), settings.Settings{DynamoDBEndpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Tables are a test's own customers and keys tables.
type Tables struct {
	Endpoint  string
	DB        *dynamodb.Client
	Customers string
	Keys      string
}

// NewTables creates a fresh pair of tables in the local DynamoDB and deletes
// them when the test ends.
func NewTables(t testing.TB) Tables {
	t.Helper()
	endpoint := Endpoint(t)
	db := Client(t, endpoint)
	n := seq.Add(1)
	tb := Tables{
		Endpoint:  endpoint,
		DB:        db,
		Customers: fmt.Sprintf("customers-%d-%d", os.Getpid(), n),
		Keys:      fmt.Sprintf("keys-%d-%d", os.Getpid(), n),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range []dynamo.TableDef{dynamo.CustomersTableDef(tb.Customers), dynamo.APIKeysTableDef(tb.Keys)} {
		if _, err := dynamo.EnsureTable(ctx, db, d); err != nil {
			t.Fatal(err)
		}
		name := d.Name
		t.Cleanup(func() {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		})
	}
	return tb
}

// Admin returns an Admin for the tables.
func (tb Tables) Admin() *dynamo.Admin {
	return dynamo.NewAdmin(tb.DB, tb.Customers, tb.Keys)
}

// Store returns a Store for the tables.
func (tb Tables) Store() *dynamo.Store {
	return dynamo.NewStore(tb.DB, tb.Customers, tb.Keys)
}

// Env returns the environment that points the Lambda or cdmctl at the tables.
func (tb Tables) Env() []string {
	return []string{
		"DYNAMODB_ENDPOINT=" + tb.Endpoint,
		"CUSTOMERS_TABLE=" + tb.Customers,
		"API_KEYS_TABLE=" + tb.Keys,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// PutKey stores an active key for clientID, with changes applied to the record.
func (tb Tables) PutKey(t testing.TB, raw, clientID string, change func(*apikey.Record)) {
	t.Helper()
	r := apikey.Record{Hash: apikey.Hash(raw), ClientID: clientID, Status: apikey.StatusActive, CreatedAt: time.Now()}
	if change != nil {
		change(&r)
	}
	if err := tb.Admin().PutAPIKey(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// LoadSample stores what make run stores: the dev key and the sample customers.
func (tb Tables) LoadSample(t testing.TB) {
	t.Helper()
	root, err := dynalite.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "sample", "customers.ndjson")) // #nosec G304 -- the repository's own sample file
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, rejects, err := customer.ReadImport(f)
	if err != nil || len(rejects) > 0 {
		t.Fatalf("sample data: %v %v", err, rejects)
	}
	cs := make([]customer.Customer, len(entries))
	for i, e := range entries {
		cs[i] = e.Customer
	}
	if _, err := tb.Admin().PutCustomers(context.Background(), customer.MustParseClientID(DevClient), cs, dynamo.BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	tb.PutKey(t, DevKey, DevClient, func(r *apikey.Record) { r.Label = "local development" })
}

// Fixture is one events/ file: a proxy event as sam local invoke sends it,
// the status its name promises and the golden body it must get against the
// data make run loads.
type Fixture struct {
	Name   string // such as get-customer-404
	Event  []byte
	Status int
	Golden string // path of the golden body
}

// Fixtures returns every events/*.json fixture. It fails the test when there
// are none or a name does not end in a status.
func Fixtures(t testing.TB) []Fixture {
	t.Helper()
	root, err := dynalite.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/ fixtures: %v", err)
	}
	var out []Fixture
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		status, err := strconv.Atoi(name[max(0, len(name)-3):])
		if err != nil {
			t.Fatalf("fixture %s: its name must end in the status it expects", name)
		}
		event, err := os.ReadFile(f) // #nosec G304 -- a fixture listed from events/
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Fixture{Name: name, Event: event, Status: status, Golden: filepath.Join(root, "internal", "apigw", "testdata", name+".golden.json")})
	}
	return out
}

// RefusingAddr returns a loopback address that refuses connections: a
// socket bound to it that never listens, so that no other process can take
// the port while the test runs.
func RefusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
