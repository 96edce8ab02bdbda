# The build is written down here once. Targets:
#   make run      local API on 127.0.0.1:3000 with sample data and a dev key
#   make test     every test, against a local DynamoDB the tests start
#   make invoke EVENT=events/get-customer-200.json   run the real bootstrap under the Lambda emulator
#   make sam-api  sam local start-api on 127.0.0.1:3001 (the SAM CLI and Docker or Finch)
#   make sam-invoke EVENT=events/get-customer-200.json   sam local invoke, the same way
#   make build    the SAM build (arm64 bootstrap) into .aws-sam/build
#   make deploy   sam build && sam deploy (needs the SAM CLI)
#   make bench    benchmarks; make fuzz   fuzz targets
#   make lint     gofmt, go vet, staticcheck, gosec, actionlint, Redocly (openapi.yaml), cfn-lint
#   make vuln     govulncheck over the source and the arm64 bootstrap, offline
#   make secscan  Trivy's CloudFormation checks over the templates, offline (not in make test)
#   make hipaa    CloudFormation Guard's HIPAA Security checks over each stack, offline

# Every go command here, sam build's included, uses this toolchain; the go
# command fetches it through the module proxy on first use.
export GOTOOLCHAIN := go1.27.3
GO        ?= go
GOFLAGS_LAMBDA = -tags lambda.norpc -trimpath -ldflags='-s -w'
FUZZTIME  ?= 30s
EVENT     ?= events/get-customer-200.json
# The SAM JSON Schema the template test validates against, when it is beside the repo.
export SAM_SCHEMA ?= $(wildcard $(CURDIR)/../shared/spec/sam/sam.schema.json)

.PHONY: run test invoke sam-api sam-invoke build deploy bench fuzz lint vuln secscan hipaa deps managed-template

# The pinned local DynamoDB, from the committed package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

bin/cdmctl: FORCE
	$(GO) build -o $@ ./cmd/cdmctl

bin/aws-lambda-rie: tools/aws-lambda-rie/go.mod tools/aws-lambda-rie/go.sum
	$(GO) build -modfile=tools/aws-lambda-rie/go.mod -o $@ github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

# The function as Lambda runs it, for this machine's architecture.
bin/bootstrap: FORCE
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $@ ./functions/get-customer

run: deps bin/cdmctl
	./scripts/run-local.sh

test: deps lint vuln hipaa
	@echo "go test: every package against a local DynamoDB each test starts (about 90 s warm; builds the race-enabled tests first)"
	$(GO) test -race -count=1 -timeout 8m ./...

invoke: deps bin/cdmctl bin/bootstrap bin/aws-lambda-rie
	./scripts/invoke-local.sh $(EVENT)

# The function in a container, as the SAM CLI runs it, over the same local
# DynamoDB and data as make run; not part of make test (it needs the SAM CLI
# and a container runtime).
sam-api: deps bin/cdmctl
	./scripts/sam-local.sh api

sam-invoke: deps bin/cdmctl
	./scripts/sam-local.sh invoke $(EVENT)

# Called by `sam build` (BuildMethod: makefile) with ARTIFACTS_DIR set.
build-GetCustomerFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/get-customer

build:
	$(MAKE) build-GetCustomerFunction ARTIFACTS_DIR=$(CURDIR)/.aws-sam/build/GetCustomerFunction
	@ls -l .aws-sam/build/GetCustomerFunction/bootstrap

# CONFIG_ENV=managed deploys the stack on Lambda Managed Instances, from the
# committed template cdmctl derives from template.yaml.
deploy:
	sam build $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV)) && sam deploy $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV))

# After a change to template.yaml: a test fails until this is rerun and committed.
managed-template:
	$(GO) run ./cmd/cdmctl template managed-instances > template.managed-instances.yaml.tmp
	mv template.managed-instances.yaml.tmp template.managed-instances.yaml

# Go benchmarks (ns/op, allocs/op, records/s), then the side-by-side table
# that docs/performance.md shows (written to bench/results/latest.md).
bench: deps
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) test -run '^$$' -bench 'NonIO|Warm' -benchmem -count 5 ./internal/apigw
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) test -run '^$$' -bench RandomKeys -benchtime 10000x ./internal/apigw
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) test -run '^$$' -bench Import -benchtime 3x ./internal/dynamo
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS $(GO) run ./bench/cmd/lambdabench

# Each fuzz target for FUZZTIME; make test runs their seed corpus only.
fuzz:
	for pt in apigw:FuzzHandler apigw:FuzzRequestFields apigw:FuzzInvoke jsontext:FuzzAppendString customer:FuzzScanImportArray dynamo:FuzzEqualValues dynamo:FuzzCheckSourceItem; do \
		$(GO) test ./internal/$${pt%%:*} -run '^$$' -fuzz "^$${pt#*:}\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

lint: deps
	@out=$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "go vet, then staticcheck (the first run builds it and the packages: about a minute)"
	$(GO) vet ./...
	$(GO) tool -modfile=tools/staticcheck/go.mod staticcheck ./...
	@echo "gosec: the source's security checks (the first run builds gosec: up to two minutes)"
	$(GO) tool -modfile=tools/gosec/go.mod gosec -quiet -fmt text ./...
	$(GO) tool -modfile=tools/actionlint/go.mod actionlint
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --format stylish openapi.yaml
	@if command -v cfn-lint >/dev/null 2>&1; then \
		echo "cfn-lint --include-checks I -- template.yaml template.managed-instances.yaml (about 30 s)"; \
		cfn-lint --include-checks I -- template.yaml template.managed-instances.yaml; \
	elif [ "$$CI" = true ]; then \
		echo "cfn-lint is not installed (pip install cfn-lint): CI requires it" >&2; exit 1; \
	else \
		echo "make lint: SKIPPED cfn-lint, which is not installed; install it with: pip install cfn-lint"; \
	fi

# Known vulnerabilities in what we build and ship, from the Go vulnerability
# database pinned in tools/govulncheck/go.mod (golang.org/x/vulndb), built
# offline into .cache/.
# VULNDB=https://vuln.go.dev uses the public database instead.
VULNDB ?=
vuln: build
	@set -e; db="$(VULNDB)"; \
	if [ -z "$$db" ]; then dir=$$(./scripts/vulndb.sh); db=file://$$dir; fi; \
	echo "govulncheck: known vulnerabilities in the source and the arm64 bootstrap (the first run builds govulncheck: about a minute)"; \
	echo "govulncheck -db $$db ./..."; \
	$(GO) tool -modfile=tools/govulncheck/go.mod govulncheck -db "$$db" ./...; \
	echo "govulncheck -db $$db -mode binary .aws-sam/build/GetCustomerFunction/bootstrap"; \
	$(GO) tool -modfile=tools/govulncheck/go.mod govulncheck -db "$$db" -mode binary .aws-sam/build/GetCustomerFunction/bootstrap

# Trivy's CloudFormation checks over both templates and their SAM
# translations, offline with the checks built into the pinned binary
# (scripts/trivy.sh builds it once into .cache/; the first build takes
# minutes), with the templates' defaults and again with every option on
# (scripts/secscan-every-option.json). Accepted findings, with reasons, are
# in .trivyignore.yaml.
secscan:
	@set -e; trivy=$$(./scripts/trivy.sh); dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	for t in template.yaml template.managed-instances.yaml; do \
		cp $$t $$dir/; python3 scripts/sam-translate.py $$t > $$dir/$${t%.yaml}.translated.json; \
	done; \
	for params in "" scripts/secscan-every-option.json; do \
		echo "trivy config $$dir: $$(ls $$dir | tr '\n' ' ')$${params:+with the parameters in $$params}"; \
		$$trivy config --skip-check-update --skip-version-check --cache-dir .cache/trivy/cache \
			--misconfig-scanners cloudformation --ignorefile .trivyignore.yaml \
			$${params:+--cf-params $$params} --exit-code 1 $$dir; \
	done

# AWS CloudFormation Guard (cfn-guard, pinned in package-lock.json) with the
# HIPAA Security rules in guard/hipaa-security over the SAM translation of
# each stack as deployed (defaults, prod, managed); accepted failures, each
# with its reason, are in guard/hipaa-exceptions.yaml. The translation is
# cfn-lint's, so it needs cfn-lint like make lint.
hipaa: deps
	@if python3 -c 'import cfnlint' 2>/dev/null; then \
		echo "make hipaa: cfn-guard's HIPAA Security rules over each stack's SAM translation (about 30 s)"; \
		python3 scripts/hipaa.py; \
	elif [ "$$CI" = true ]; then \
		echo "cfn-lint is not installed (pip install cfn-lint): CI requires it" >&2; exit 1; \
	else \
		echo "make hipaa: SKIPPED, cfn-lint (which translates SAM) is not installed; install it with: pip install cfn-lint"; \
	fi

FORCE:
