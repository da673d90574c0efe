/*
 * Reference comparator for the differential version tests: dpkg's own
 * parseversion() and dpkg_version_compare() from libdpkg (Debian package
 * libdpkg-dev), the code `dpkg --compare-versions` runs.
 *
 * Reads "A<US>B" lines on stdin (US: the 0x1f unit separator, which no
 * generated version contains) and prints one line each:
 *   "<" "=" ">"  both parse cleanly, A is older / equal / newer
 *   "E"          dpkg refuses A or B (a parse error)
 *   "W"          dpkg warns about A or B's syntax (`dpkg --compare-versions`
 *                still compares; a control file with it is refused)
 */
#define LIBDPKG_VOLATILE_API 1
#include <stdio.h>
#include <string.h>
#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/version.h>

static int parse(struct dpkg_version *v, const char *s)
{
	struct dpkg_error err = DPKG_ERROR_INIT;
	int kind = 0;

	/* parseversion() returns -1 for warnings too; the type tells them apart. */
	if (parseversion(v, s, &err) < 0)
		kind = err.type == DPKG_MSG_WARN ? 1 : 2;
	dpkg_error_destroy(&err);
	return kind;
}

int main(void)
{
	char line[8192];

	while (fgets(line, sizeof(line), stdin)) {
		char *tab, *nl;
		struct dpkg_version a, b;
		int ka, kb, c;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		tab = strchr(line, '\x1f');
		if (!tab) {
			puts("?");
			continue;
		}
		*tab = '\0';
		ka = parse(&a, line);
		kb = parse(&b, tab + 1);
		if (ka == 2 || kb == 2) {
			puts("E");
		} else if (ka == 1 || kb == 1) {
			puts("W");
		} else {
			c = dpkg_version_compare(&a, &b);
			puts(c < 0 ? "<" : c > 0 ? ">" : "=");
		}
	}
	return 0;
}
