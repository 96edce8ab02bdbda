# The build is written down here once. Targets:
#   make run      local API on 127.0.0.1:3000 with sample data and a dev key
#   make test     every test, against a local DynamoDB the tests start
#   make invoke EVENT=events/get-customer-200.json   run the real bootstrap under the Lambda emulator
#   make build    the SAM build (arm64 bootstrap) into .aws-sam/build
#   make deploy   sam build && sam deploy (needs the SAM CLI)
#   make bench    benchmarks; make fuzz   fuzz targets; make lint   gofmt and vet

GO        ?= go
GOFLAGS_LAMBDA = -tags lambda.norpc -trimpath -ldflags='-s -w'
FUZZTIME  ?= 30s
EVENT     ?= events/get-customer-200.json
# The SAM JSON Schema the template test validates against, when it is beside the repo.
export SAM_SCHEMA ?= $(wildcard $(CURDIR)/../shared/spec/sam/sam.schema.json)

.PHONY: run test invoke build deploy bench fuzz lint deps

# The pinned local DynamoDB, from the committed package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

bin/cdmctl: FORCE
	$(GO) build -o $@ ./cmd/cdmctl

bin/aws-lambda-rie: go.mod go.sum
	$(GO) build -o $@ github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

# The function as Lambda runs it, for this machine's architecture.
bin/bootstrap: FORCE
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $@ ./functions/get-customer

run: deps bin/cdmctl
	./scripts/run-local.sh

test: deps lint
	$(GO) test -count=1 -timeout 8m ./...

invoke: deps bin/cdmctl bin/bootstrap bin/aws-lambda-rie
	./scripts/invoke-local.sh $(EVENT)

# Called by `sam build` (BuildMethod: makefile) with ARTIFACTS_DIR set.
build-GetCustomerFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/get-customer

build:
	$(MAKE) build-GetCustomerFunction ARTIFACTS_DIR=$(CURDIR)/.aws-sam/build/GetCustomerFunction
	@ls -l .aws-sam/build/GetCustomerFunction/bootstrap

deploy:
	sam build && sam deploy $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV))

# Go benchmarks (ns/op, allocs/op, records/s), then the side-by-side table
# that the README shows (written to bench/results/latest.md).
bench: deps
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) test -run '^$$' -bench 'NonIO|Warm' -benchmem -count 5 ./internal/apigw
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) test -run '^$$' -bench Import -benchtime 3x ./internal/dynamo
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) run ./bench/cmd/lambdabench

# Each fuzz target for FUZZTIME; make test runs their seed corpus only.
fuzz:
	for target in FuzzHandler FuzzRequestFields; do \
		$(GO) test ./internal/apigw -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

FORCE:
