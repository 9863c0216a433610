/*
 * RFC 5322 lexical helpers (lex.h).
 */
#include "mail/lex.h"

#include <string.h>

#include "mail/message-int.h"

char *str_trim_inplace(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && (is_wsp((unsigned char)s[n - 1]) || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	while (i < n && (is_wsp((unsigned char)s[i]) || s[i] == '\r' || s[i] == '\n'))
		i++;
	memmove(s, s + i, n - i);
	s[n - i] = '\0';
	return s;
}

size_t skip_comment(const char *s, size_t n, size_t i)
{
	int depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i;
	}
	return n;
}

size_t skip_quoted(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i;
	}
	return n;
}
