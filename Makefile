# imgedit on AWS: build, deploy, update, roll back, destroy.
# Needs the AWS CLI (v2) and/or the CDK CLI (run through npx; nothing to install).
# Every target says what it is about to do before it does it.
#
#   make deploy                      build the bundles + sharp layer, deploy the whole stack (CDK)
#   make update-function-code        push new code to the functions and move `production` to it
#   make build-layers / publish-layers
#   make versions FUNCTION=processor list versions and where `production` points (api, recorder)
#   make rollback [BEFORE=<time>] [DRY_RUN=1]  move every `production` alias back, together
#   make rollback VERSION=7 FUNCTION=processor|api|recorder  move one alias (the guide's rollback)
#   make destroy                     delete the stack (bucket and table are kept: they hold data)

STACK      ?= ImgeditStack
REGION     ?= $(or $(AWS_REGION),us-east-1)
ARCH       ?= x86_64
RUNTIME    ?= nodejs20.x
PROCESSOR  ?= imgedit-image-processor
API        ?= imgedit-api
RECORDER   ?= imgedit-failure-recorder
FUNCTION   ?= processor
JWKS_URL   ?=
JWT_ISSUER ?=
JWT_AUDIENCE ?=
APPROVAL   ?= broadening

CDK        := npx --yes aws-cdk@2
AWS        := aws --region $(REGION)
LAYER_ARCH := $(if $(filter arm64,$(ARCH)),arm64,x64)
# Only VERSION given on make's command line moves one alias: CI environments often set VERSION.
ONE_ALIAS   = $(filter command line,$(origin VERSION))
FN_NAME     = $(if $(filter api,$(FUNCTION)),$(API),$(if $(filter recorder,$(FUNCTION)),$(RECORDER),$(PROCESSOR)))
CDK_CONTEXT = -c region=$(REGION) -c architecture=$(ARCH) -c runtime=$(RUNTIME) -c stackName=$(STACK) \
              -c processorFunctionName=$(PROCESSOR) -c apiFunctionName=$(API) \
              -c failureRecorderFunctionName=$(RECORDER)
CDK_PARAMS  = $(if $(JWKS_URL),--parameters JwksUrl=$(JWKS_URL)) \
              $(if $(JWT_ISSUER),--parameters JwtIssuer=$(JWT_ISSUER)) \
              $(if $(JWT_AUDIENCE),--parameters JwtAudience=$(JWT_AUDIENCE))

.PHONY: help build build-layers synth diff bootstrap deploy update-function-code update-processor update-api \
        publish-layers versions rollback destroy

help:
	@sed -n '2,11p' Makefile

build:
	@echo "==> Bundling the API and processor functions with esbuild (sharp layer for $(LAYER_ARCH))"
	npm run build:lambda -- --arch=$(LAYER_ARCH)

build-layers:
	@echo "==> Building the sharp layer zips for x64 and arm64 (linux, glibc) from the npm registry"
	npm run build:lambda -- --arch=both --force-layers

synth:
	@echo "==> Synthesising stack $(STACK) for $(REGION) ($(ARCH)) into cdk.out/"
	$(CDK) synth $(CDK_CONTEXT) --quiet

diff:
	@echo "==> Changes deploying $(STACK) would make"
	$(CDK) diff $(CDK_CONTEXT)

bootstrap:
	@echo "==> Bootstrapping CDK in $(REGION) (once per account and region)"
	$(CDK) bootstrap -c region=$(REGION)

deploy: build
	@echo "==> Deploying stack $(STACK) to $(REGION): functions $(API) and $(PROCESSOR), layer, bucket, table, dashboard, alarms"
	$(CDK) deploy $(STACK) $(CDK_CONTEXT) -c requireBuild=true $(CDK_PARAMS) --require-approval $(APPROVAL) \
	  --outputs-file build/cdk-outputs.json
	@echo "==> Done. Outputs (API URL, bucket, table) are in build/cdk-outputs.json"

# The guide's fast path: new code without a CloudFormation deployment. The next `make deploy`
# brings the stack's own idea of the code back, so commit what you push here.
update-function-code: update-processor update-api

update-processor update-api: update-%: build
	@fn=$(if $(filter api,$*),$(API),$(PROCESSOR)); \
	echo "==> Uploading build/lambda/$*.zip to $$fn and publishing a version"; \
	ver=$$($(AWS) lambda update-function-code --function-name $$fn --zip-file fileb://build/lambda/$*.zip \
	  --publish --query Version --output text) || exit 1; \
	echo "==> Waiting for $$fn to finish updating"; \
	$(AWS) lambda wait function-updated --function-name $$fn || exit 1; \
	echo "==> Pointing $$fn:production at version $$ver"; \
	$(AWS) lambda update-alias --function-name $$fn --name production --function-version $$ver >/dev/null && \
	echo "OK $$fn production -> $$ver" || exit 1; \
	if [ $* = processor ]; then \
	  echo "==> The failure recorder runs from the same bundle: uploading it to $(RECORDER) too"; \
	  ver=$$($(AWS) lambda update-function-code --function-name $(RECORDER) --zip-file fileb://build/lambda/processor.zip \
	    --publish --query Version --output text) || exit 1; \
	  $(AWS) lambda wait function-updated --function-name $(RECORDER) || exit 1; \
	  $(AWS) lambda update-alias --function-name $(RECORDER) --name production --function-version $$ver >/dev/null && \
	  echo "OK $(RECORDER) production -> $$ver" || exit 1; \
	fi

publish-layers:
	@for arch in x64 arm64; do \
	  zip=build/lambda/sharp-layer-$$arch.zip; \
	  [ -f $$zip ] || { echo "$$zip missing: run make build-layers"; exit 1; }; \
	  cpu=$$( [ $$arch = x64 ] && echo x86_64 || echo arm64 ); \
	  echo "==> Publishing $$zip as layer imgedit-sharp-$$arch ($$cpu, nodejs20.x) in $(REGION)"; \
	  $(AWS) lambda publish-layer-version --layer-name imgedit-sharp-$$arch \
	    --description "sharp 0.35.5 + libvips, linux $$arch glibc" --zip-file fileb://$$zip \
	    --compatible-runtimes nodejs20.x --compatible-architectures $$cpu \
	    --query LayerVersionArn --output text || exit 1; \
	done
	@echo "(make deploy publishes the layer the stack uses by itself; these ARNs are for other functions)"

versions:
	@echo "==> Versions of $(FN_NAME) and where its production alias points"
	$(AWS) lambda list-versions-by-function --function-name $(FN_NAME) \
	  --query 'Versions[].[Version,LastModified,Description]' --output table
	$(AWS) lambda get-alias --function-name $(FN_NAME) --name production --query FunctionVersion --output text

# Every alias the stack defines (read from the synthesised stack, scripts/rollback.ts) moves back
# together: one function alone would leave a mixed deployment. Version numbers differ per function,
# so the target is a time: by default, before the last release; BEFORE=<ISO time> to pick one.
rollback:
	@test "$(origin FUNCTION)$(origin VERSION)" = "command linecommand line" -o "$(ONE_ALIAS)$(filter command line,$(origin FUNCTION))" = "" || { \
	  echo "usage: make rollback VERSION=<n> FUNCTION=processor|api|recorder (one alias), or make rollback (every alias together)"; exit 2; }
	@case "$(FUNCTION)" in processor|api|recorder) ;; *) echo "FUNCTION=$(FUNCTION): one of processor, api, recorder"; exit 2;; esac
	@echo "==> Rolling back $(if $(ONE_ALIAS),$(FN_NAME):production to version $(VERSION),every production alias of stack $(STACK) together$(if $(BEFORE), to before $(BEFORE))) in $(REGION)$(if $(DRY_RUN), (dry run))"
	@npx tsx scripts/rollback.ts $(CDK_CONTEXT) $(if $(ONE_ALIAS),--only $(FN_NAME) $(VERSION)) $(if $(BEFORE),--before $(BEFORE)) $(if $(DRY_RUN),--dry-run)

destroy:
	@echo "==> Deleting stack $(STACK) in $(REGION): functions, layer, roles, dashboard, alarms."
	@echo "    The results bucket and sessions table are RETAINED (user data); delete them by hand"
	@echo "    (aws s3 rm --recursive + delete object versions, aws dynamodb delete-table) or deploy"
	@echo "    with -c retainData=false before destroying."
	$(CDK) destroy $(STACK) $(CDK_CONTEXT)
