package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func scanCount(table string) *dynamodb.ScanInput {
	return &dynamodb.ScanInput{TableName: aws.String(table), Select: types.SelectCount}
}
