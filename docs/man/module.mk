# docs/man/: the manual pages, mdoc sources with the version put in at build
# time. The STATEMENTS section of attls.conf(5) is `attls policy reference
# --man`, the schema the parser reads, put where the source says @STATEMENTS@,
# so the page cannot disagree with the parser (nor with policy-reference.md).
MANDIR ?= $(PREFIX)/share/man

MAN_PLAIN := attls.1 attls-mkcerts.1 iked.8 ipsec.8 libattls.7
MAN_PAGES := $(addprefix $(BUILD)/man/,$(MAN_PLAIN) attls.conf.5)

$(addprefix $(BUILD)/man/,$(MAN_PLAIN)): $(BUILD)/man/%: docs/man/% VERSION
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/' $< >$@

$(BUILD)/man/attls.conf.5: docs/man/attls.conf.5.in $(BUILD)/bin/attls VERSION
	@mkdir -p $(@D)
	$(BUILD)/bin/attls policy reference --man >$@.statements
	sed -e 's/@VERSION@/$(VERSION)/' -e '/^\.\\" @STATEMENTS@$$/{r $@.statements' -e 'd;}' $< >$@
	rm -f $@.statements

ALL_TARGETS += $(MAN_PAGES)

.PHONY: man install-man
man: $(MAN_PAGES)

# Pages whose names other packages' pages have (OpenIKED's iked(8),
# strongSwan's and Libreswan's ipsec(8)) are installed with the section
# suffix "attls", as Debian's OpenSSL installs passwd.1ssl: ipsec.8attls in
# man8, so both can be installed; `man 8attls ipsec` names ours.
MAN_SUFFIXED := iked.8 ipsec.8
MAN_SUFFIX := attls

# Each page into the section its name ends with.
install-man: $(MAN_PAGES)
	for page in $(MAN_PAGES); do \
	    name=$${page##*/}; \
	    dir=$(DESTDIR)$(MANDIR)/man$${name##*.}; \
	    case " $(MAN_SUFFIXED) " in *" $$name "*) name=$${name}$(MAN_SUFFIX);; esac; \
	    install -d $$dir && install -m 0644 $$page $$dir/$$name || exit 1; \
	done
