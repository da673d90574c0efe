/*
 * Reference comparator for the differential version tests: librpm's own
 * rpmverParse() and rpmverCmp() (Debian package librpm-dev), the code rpm
 * uses to compare [epoch:]version[-release] strings, and rpmvercmp() for
 * single version or release strings.
 *
 * Reads "MODE<US>A<US>B" lines on stdin (US: the 0x1f unit separator),
 * MODE "evr" or "seg", and prints one line each: "<" "=" ">", or "E"
 * when rpmverParse refuses A or B.
 */
#include <stdio.h>
#include <string.h>
#include <rpm/rpmver.h>

int main(void)
{
	char line[8192];

	while (fgets(line, sizeof(line), stdin)) {
		char *a, *b, *nl;
		int c;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		a = strchr(line, '\x1f');
		b = a ? strchr(a + 1, '\x1f') : NULL;
		if (!b) {
			puts("?");
			continue;
		}
		*a++ = '\0';
		*b++ = '\0';
		if (strcmp(line, "seg") == 0) {
			c = rpmvercmp(a, b);
		} else {
			rpmver va = rpmverParse(a);
			rpmver vb = rpmverParse(b);

			if (!va || !vb) {
				rpmverFree(va);
				rpmverFree(vb);
				puts("E");
				continue;
			}
			c = rpmverCmp(va, vb);
			rpmverFree(va);
			rpmverFree(vb);
		}
		puts(c < 0 ? "<" : c > 0 ? ">" : "=");
	}
	return 0;
}
