# systemd/: the unit of iked and an example drop-in that runs a service under
# attls. Both name installed paths, so `make install` writes them with
# PREFIX put in: the unit to SYSTEMDUNITDIR, the drop-in among the examples.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSTEMD_EXAMPLES := $(PREFIX)/share/doc/attls/examples/systemd
SYSTEMD_SUBST := sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@LIBDIR@|$(PREFIX)/lib|g'

.PHONY: install-systemd
install-systemd:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSTEMD_EXAMPLES)
	$(SYSTEMD_SUBST) systemd/iked.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/iked.service
	$(SYSTEMD_SUBST) systemd/attls-dropin.conf.in >$(DESTDIR)$(SYSTEMD_EXAMPLES)/attls-dropin.conf
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/iked.service $(DESTDIR)$(SYSTEMD_EXAMPLES)/attls-dropin.conf
