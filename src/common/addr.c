/* Address parsing; see addr.h. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wr_addr_parse(const char *text, struct sockaddr_in *out, char *err, size_t errlen)
{
    const char *colon = strrchr(text, ':');
    char host[INET_ADDRSTRLEN];
    if (colon == NULL || (size_t)(colon - text) >= sizeof host || colon == text) {
        snprintf(err, errlen, "'%s' is not IPv4:PORT (e.g. 127.0.0.1:7001)", text);
        return -1;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535) {
        snprintf(err, errlen, "'%s': port must be 1..65535", text);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        snprintf(err, errlen, "'%s': host must be a dotted-quad IPv4 address", text);
        return -1;
    }
    return 0;
}
