# p4cast — top-level tasks. On a fresh Debian machine:
#   make demo   runs the main job (embedded switch when BMv2 is absent)
#   make test   runs every test suite
# Both install what they need first (npm packages; Node.js 20 must exist).

NPM_STAMP := node_modules/.install-stamp
SOURCES   := $(shell find src -name '*.ts' 2>/dev/null)
P4C       ?= p4c-bm2-ss

.PHONY: all install build demo test test-packages typecheck lint p4 fixtures bench clean check-node native mininet mininet-clean

all: build
	@echo "built. The command line, from this checkout: npx p4cast --help (npm link once puts p4cast on PATH)"

check-node:
	@scripts/check-node.sh

$(NPM_STAMP): package.json package-lock.json
	@scripts/check-node.sh
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP)

# The AF_PACKET addon (raw Linux interfaces as switch ports: Mininet, BMv2
# test ports). Optional: without it those tests say why they skip.
AFPACKET := native/afpacket/build/Release/afpacket.node
$(AFPACKET): native/afpacket/binding.gyp $(wildcard native/afpacket/src/*)
	-native/afpacket/build.sh

native: $(AFPACKET)

dist/.build-stamp: $(NPM_STAMP) $(SOURCES) tsconfig.json tsconfig.build.json
	npm run build
	@touch $@

build: dist/.build-stamp

# simple_switch_grpc when it is on PATH and usable, else embedded switches
# (the demo says which ran); make demo TARGET=embedded|bmv2 picks one.
TARGET ?= auto
demo: build
	node dist/cli/main.js demo --target $(TARGET)

typecheck: install
	npm run typecheck

# Biome's linter and formatter check (biome.jsonc; npx biome format --write
# formats) and the copy/paste gate on src/ (.jscpd.json).
lint: install
	npm run lint
	npm run format:check
	npm run cpd

# Debian packages for the Mininet tests and the live view's browser test (chromium); root + apt-get only; never fails.
test-packages:
	@scripts/install-test-packages.sh

test: build native test-packages
	npm run typecheck
	npm run lint
	npm run format:check
	npm run cpd
	npm test

# Recompile the data plane with p4c (needs p4c on PATH) and refresh p4/build.
p4:
	$(MAKE) -C p4

# Recompile the test programs under test/fixtures/p4 (needs p4c).
fixtures:
	@command -v $(P4C) >/dev/null || { echo "make fixtures: $(P4C) not on PATH; install p4c first" >&2; exit 1; }
	@mkdir -p test/fixtures/p4/build
	@for f in test/fixtures/p4/*.p4; do \
	  n=$$(basename $$f .p4); \
	  echo "p4c: $$f"; \
	  $(P4C) --std p4-16 -o test/fixtures/p4/build/$$n.json \
	    --p4runtime-files test/fixtures/p4/build/$$n.p4info.txtpb,test/fixtures/p4/build/$$n.p4info.json $$f || exit 1; \
	done

# Mininet (root): make mininet [TOPO=examples/mesh8.yaml] [SWITCH=bmv2]
TOPO   ?= examples/line3.yaml
SWITCH ?= embedded
mininet: build native
	python3 mininet/p4cast_net.py --topology $(TOPO) --switch $(SWITCH) --cli

mininet-clean:
	python3 mininet/p4cast_net.py --cleanup

bench: build
	npm run bench:switch

clean:
	rm -rf dist dist-check
