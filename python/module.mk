# python/: the Python package attls, pure Python (nothing to build).
#
# `make install` puts it where Debian's python3 looks for modules under
# PREFIX: /usr/lib/python3/dist-packages for PREFIX=/usr (where Debian's own
# packages go), /usr/local/lib/python3.X/dist-packages for PREFIX=/usr/local
# (the X of the python3 installed). A prefix python3 does not search gets
# PREFIX/lib/python3/dist-packages: put that in PYTHONPATH.

PYTHON3 ?= /usr/bin/python3
PYTHON_SITE_DIR = import site, sys; p = sys.argv[1].rstrip("/") + "/lib/"; \
    print(next((d for d in site.getsitepackages() if d.startswith(p)), p + "python3/dist-packages"))
PYTHONDIR ?= $(shell $(PYTHON3) -I -c '$(PYTHON_SITE_DIR)' '$(PREFIX)')

.PHONY: install-python
install: install-python
install-python:
	install -d $(DESTDIR)$(PYTHONDIR)/attls $(DESTDIR)$(PREFIX)/share/attls/examples/python
	install -m 0644 python/attls/*.py python/attls/py.typed $(DESTDIR)$(PYTHONDIR)/attls/
	install -m 0644 examples/python/*.py $(DESTDIR)$(PREFIX)/share/attls/examples/python/
