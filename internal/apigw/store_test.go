package apigw_test

import (
	"github.com/cdm/customer-api/internal/dynamo"
)

func dynamoStore(a *api, customers, keys string) *dynamo.Store {
	return dynamo.NewStore(a.DB, customers, keys)
}
