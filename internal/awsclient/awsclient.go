// Package awsclient builds the AWS clients the Lambda and cdmctl use from
// their settings: the one DynamoDB client, with its transport and retry
// policy, and the operator's identity for audit lines.
package awsclient

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/cdm/customer-api/internal/settings"
)

// The retry policy of every DynamoDB call, the only place errors are
// retried: a few quick attempts with jittered exponential backoff, so that a
// throttled or failing read is retried within the request's deadline.
// Operator batches add only the resending of unprocessed items
// (dynamo.BatchOptions.MaxAttempts).
const (
	MaxAttempts = 3
	MaxBackoff  = 200 * time.Millisecond
)

// DynamoDB loads the AWS configuration from the SDK's default chain and
// returns a DynamoDB client. With a local endpoint and no credentials in the
// environment it signs with placeholder credentials, which a local DynamoDB
// accepts, and defaults the region to us-east-1.
func DynamoDB(ctx context.Context, s settings.Settings) (*dynamodb.Client, error) {
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
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = MaxBackoff
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
func Operator(ctx context.Context, s settings.Settings) string {
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
