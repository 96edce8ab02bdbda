// Package settings reads what the Lambda and cdmctl are told by the
// process environment: table names, the endpoint, timeouts and limits.
package settings

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cdm/customer-api/internal/dynamo"
)

// Settings are the environment's answers, with defaults filled in.
type Settings struct {
	CustomersTable   string        // CUSTOMERS_TABLE
	APIKeysTable     string        // API_KEYS_TABLE
	DynamoDBEndpoint string        // DYNAMODB_ENDPOINT; empty: the regional endpoint
	KeyCacheTTL      time.Duration // API_KEY_CACHE_TTL; 0 disables the cache
	StorageTimeout   time.Duration // STORAGE_TIMEOUT: all storage calls of one request
	WarmUp           bool          // DYNAMODB_WARM_UP: do one-time work during init (default)
	FunctionName     string        // AWS_LAMBDA_FUNCTION_NAME, set by Lambda; empty elsewhere
	MaxConcurrency   int           // AWS_LAMBDA_MAX_CONCURRENCY, set by Lambda Managed Instances; 1 elsewhere
	Region           string        // a region other than the SDK's default chain's; empty: the chain's (operator tools only)
}

// Defaults for the durations.
const (
	DefaultKeyCacheTTL    = 60 * time.Second
	DefaultStorageTimeout = 2 * time.Second
)

// Read returns the settings in the environment. It fails on a malformed
// duration, naming the variable.
func Read() (Settings, error) {
	s := Settings{
		CustomersTable:   or(os.Getenv("CUSTOMERS_TABLE"), dynamo.DefaultCustomersTable),
		APIKeysTable:     or(os.Getenv("API_KEYS_TABLE"), dynamo.DefaultAPIKeysTable),
		DynamoDBEndpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		FunctionName:     os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		MaxConcurrency:   1,
		KeyCacheTTL:      DefaultKeyCacheTTL,
		StorageTimeout:   DefaultStorageTimeout,
	}
	// Warm-up is the default in every kind of init: an on-demand init runs
	// at a whole vCPU (AWS), while requests run at the memory's share, so
	// the connection, TLS handshake and certificate pool cost least there
	// (make bench's power-tuning table); under provisioned concurrency and
	// Managed Instances init is off the request path anyway.
	switch v := os.Getenv("DYNAMODB_WARM_UP"); v {
	case "", "auto", "true", "1":
		s.WarmUp = true
	case "false", "0":
		s.WarmUp = false
	default:
		return Settings{}, fmt.Errorf("DYNAMODB_WARM_UP=%q: want auto, true or false", v)
	}
	if v := os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Settings{}, fmt.Errorf("AWS_LAMBDA_MAX_CONCURRENCY=%q: want a whole number of at least 1", v)
		}
		s.MaxConcurrency = n
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{
		{"API_KEY_CACHE_TTL", &s.KeyCacheTTL, 0},
		{"STORAGE_TIMEOUT", &s.StorageTimeout, time.Millisecond},
	} {
		v := os.Getenv(d.name)
		if v == "" {
			continue
		}
		t, err := time.ParseDuration(v)
		if err != nil || t < d.min {
			return Settings{}, fmt.Errorf("%s=%q: want a duration such as 30s, at least %v", d.name, v, d.min)
		}
		*d.dst = t
	}
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
