# netsettle: build, test, install.
PREFIX ?= /usr
CARGO ?= cargo
INSTALL ?= install

BINDIR ?= $(PREFIX)/bin
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DRACUTMODDIR ?= $(PREFIX)/lib/dracut/modules.d/90netsettle
INITRAMFSTOOLSDIR ?= $(PREFIX)/share/initramfs-tools
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DOCDIR ?= $(PREFIX)/share/doc/netsettle

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
GEN := $(TARGET_DIR)/dist

.PHONY: all build completions check test mutants install uninstall
all: build

build:
	$(CARGO) build --release

# Generated from the clap definition the binary itself parses, so they never
# drift from the real options.
completions:
	@mkdir -p $(GEN)
	$(CARGO) run --quiet --release --example completions -- bash > $(GEN)/netsettle.bash
	$(CARGO) run --quiet --release --example completions -- zsh > $(GEN)/_netsettle
	$(CARGO) run --quiet --release --example completions -- fish > $(GEN)/netsettle.fish

# Units name the binary by absolute path; follow BINDIR when it is not /usr/bin.
$(GEN)/netsettle.service: systemd-units/netsettle.service
	@mkdir -p $(GEN)
	sed 's|/usr/bin/netsettle|$(BINDIR)/netsettle|g' $< > $@
$(GEN)/systemd-udev-settle-netsettle.conf: systemd-units/systemd-udev-settle.service.d/netsettle.conf
	@mkdir -p $(GEN)
	sed 's|/usr/bin/netsettle|$(BINDIR)/netsettle|g' $< > $@
.PHONY: $(GEN)/netsettle.service $(GEN)/systemd-udev-settle-netsettle.conf

# Everything README promises: unit and scenario tests on fake roots.
check: test
	tests/packaging/run
	tests/fuzz-smoke
	tests/vm/run
	tests/boot/run
	bench/run --quick

test:
	$(CARGO) test

# Mutation testing (cargo install --locked cargo-mutants): every mutant of
# src/ must make a test fail or be explained in .cargo/mutants.toml. Slow
# (each mutant builds and runs every cargo suite): not part of `check`.
# One module: make mutants MUTANTS_ARGS="--file src/config/mod.rs"
# A change:   git diff main > /tmp/change.diff
#             make mutants MUTANTS_ARGS="--in-diff /tmp/change.diff"
# Built in a scratch copy with its own target directory (CARGO_TARGET_DIR
# is not passed on), so it never disturbs the work tree's build.
MUTANTS_ARGS ?=
mutants:
	env -u CARGO_TARGET_DIR $(CARGO) mutants $(MUTANTS_ARGS)

# NOBUILD=1 installs what an earlier `make` built (e.g. `sudo make install`
# without building as root).
ifndef NOBUILD
install: build completions
endif
install: $(GEN)/netsettle.service $(GEN)/systemd-udev-settle-netsettle.conf
	$(INSTALL) -Dm755 $(TARGET_DIR)/release/netsettle $(DESTDIR)$(BINDIR)/netsettle
	$(INSTALL) -Dm644 $(GEN)/netsettle.service $(DESTDIR)$(SYSTEMDUNITDIR)/netsettle.service
	$(INSTALL) -Dm644 $(GEN)/systemd-udev-settle-netsettle.conf $(DESTDIR)$(SYSTEMDUNITDIR)/systemd-udev-settle.service.d/netsettle.conf
	$(INSTALL) -Dm755 dracut/90netsettle/module-setup.sh $(DESTDIR)$(DRACUTMODDIR)/module-setup.sh
	$(INSTALL) -Dm644 dracut/90netsettle/netsettle-finished.sh $(DESTDIR)$(DRACUTMODDIR)/netsettle-finished.sh
	$(INSTALL) -Dm644 dracut/90netsettle/netsettle-timeout.sh $(DESTDIR)$(DRACUTMODDIR)/netsettle-timeout.sh
	$(INSTALL) -Dm755 initramfs-tools/hooks/netsettle $(DESTDIR)$(INITRAMFSTOOLSDIR)/hooks/netsettle
	$(INSTALL) -Dm755 initramfs-tools/scripts/init-premount/netsettle $(DESTDIR)$(INITRAMFSTOOLSDIR)/scripts/init-premount/netsettle
	$(INSTALL) -Dm644 man/netsettle.8 $(DESTDIR)$(MANDIR)/man8/netsettle.8
	$(INSTALL) -Dm644 man/netsettle.conf.5 $(DESTDIR)$(MANDIR)/man5/netsettle.conf.5
	$(INSTALL) -Dm644 $(GEN)/netsettle.bash $(DESTDIR)$(BASHCOMPDIR)/netsettle
	$(INSTALL) -Dm644 $(GEN)/_netsettle $(DESTDIR)$(ZSHCOMPDIR)/_netsettle
	$(INSTALL) -Dm644 $(GEN)/netsettle.fish $(DESTDIR)$(FISHCOMPDIR)/netsettle.fish
	$(INSTALL) -Dm644 examples/netsettle.conf $(DESTDIR)$(DOCDIR)/netsettle.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/netsettle
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/netsettle.service
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/systemd-udev-settle.service.d/netsettle.conf
	[ ! -d $(DESTDIR)$(SYSTEMDUNITDIR)/systemd-udev-settle.service.d ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSTEMDUNITDIR)/systemd-udev-settle.service.d
	rm -f $(DESTDIR)$(DRACUTMODDIR)/module-setup.sh $(DESTDIR)$(DRACUTMODDIR)/netsettle-finished.sh $(DESTDIR)$(DRACUTMODDIR)/netsettle-timeout.sh
	[ ! -d $(DESTDIR)$(DRACUTMODDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DRACUTMODDIR)
	rm -f $(DESTDIR)$(INITRAMFSTOOLSDIR)/hooks/netsettle
	rm -f $(DESTDIR)$(INITRAMFSTOOLSDIR)/scripts/init-premount/netsettle
	rm -f $(DESTDIR)$(MANDIR)/man8/netsettle.8 $(DESTDIR)$(MANDIR)/man5/netsettle.conf.5
	rm -f $(DESTDIR)$(BASHCOMPDIR)/netsettle $(DESTDIR)$(ZSHCOMPDIR)/_netsettle $(DESTDIR)$(FISHCOMPDIR)/netsettle.fish
	rm -f $(DESTDIR)$(DOCDIR)/netsettle.conf
	[ ! -d $(DESTDIR)$(DOCDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DOCDIR)
