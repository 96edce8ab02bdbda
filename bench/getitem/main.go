// Command getitem is make bench's baseline: a plain AWS SDK client, with
// the SDK's defaults, reading one item N times in a row. It prints each
// read's duration in microseconds, one per line, so that the bench can hold
// it to the same CPU share as the function and compare.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "getitem:", err)
		os.Exit(1)
	}
}

func run() error {
	n, err := strconv.Atoi(os.Getenv("GETITEM_N"))
	if err != nil || n < 1 {
		return fmt.Errorf("GETITEM_N=%q: want a count", os.Getenv("GETITEM_N"))
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if e := os.Getenv("DYNAMODB_ENDPOINT"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
	in := &dynamodb.GetItemInput{
		TableName: aws.String(os.Getenv("GETITEM_TABLE")),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: os.Getenv("GETITEM_PK")}},
	}
	out := make([]byte, 0, 8*n)
	for range n {
		start := time.Now()
		r, err := db.GetItem(ctx, in)
		if err != nil {
			return err
		}
		if len(r.Item) == 0 {
			return fmt.Errorf("no item %s", os.Getenv("GETITEM_PK"))
		}
		out = strconv.AppendInt(out, time.Since(start).Microseconds(), 10)
		out = append(out, '\n')
	}
	_, err = os.Stdout.Write(out)
	return err
}
