/* IPv4 "a.b.c.d:port" parsing shared by every flag that takes an address.
 * libraft 0.15 accepts only dotted quads (shared/notes/libraft-0.15.md), so
 * Warren asks the same of all its addresses and says so when it is not. */
#ifndef WR_ADDR_H
#define WR_ADDR_H

#include <netinet/in.h>

/* Parse @text into @out. Returns 0, or -1 with a reason in @err. */
int wr_addr_parse(const char *text, struct sockaddr_in *out, char *err, size_t errlen);

#endif
