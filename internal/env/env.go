// Package env reads the settings the Lambda and cdmctl share from the
// process environment and builds the one DynamoDB client both use.
package env

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

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

// Retries: a few quick attempts with jittered exponential backoff, so that a
// throttled or failing read is retried within the request's deadline.
const (
	maxAttempts = 3
	maxBackoff  = 200 * time.Millisecond
)

// DynamoDB loads the AWS configuration from the SDK's default chain and
// returns a DynamoDB client. With a local endpoint and no credentials in the
// environment it signs with placeholder credentials, which a local DynamoDB
// accepts, and defaults the region to us-east-1.
func DynamoDB(ctx context.Context, s Settings) (*dynamodb.Client, error) {
	// One client serves every concurrent request of the process; keep a
	// connection per request in flight (each makes its reads one after the
	// other), or a burst closes the connections it does not keep and the
	// next burst pays for new ones.
	idle := max(s.MaxConcurrency, awshttp.DefaultHTTPTransportMaxIdleConnsPerHost)
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = idle
		tr.MaxIdleConns = max(tr.MaxIdleConns, idle)
	})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithLogger(sdkLogger()),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
			})
		}),
	}
	if s.DynamoDBEndpoint != "" {
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
		if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			opts = append(opts, config.WithRegion("us-east-1"))
		}
	}
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if s.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(s.DynamoDBEndpoint)
		}
	}), nil
}

// sdkLogger writes the SDK's occasional warnings (it logs no requests or
// responses by default) as JSON lines on stderr, so that every line the
// function writes is JSON and stdout holds only access lines.
func sdkLogger() logging.Logger {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelWarn
		if c == logging.Debug {
			level = slog.LevelDebug
		}
		log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
	})
}

// Operator returns the ARN of the AWS identity cdmctl's credentials belong
// to, for audit lines, or "" where there is none to name: against a local
// DynamoDB, or when STS does not answer within 3 seconds.
func Operator(ctx context.Context, s Settings) string {
	if s.DynamoDBEndpoint != "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(sdkLogger()))
	if err != nil {
		return ""
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ""
	}
	return aws.ToString(out.Arn)
}
