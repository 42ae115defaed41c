/* The PC/SC APDU driver (pcsc-lite): T=0 or T=1 readers; the agent opens channels with MANAGE CHANNEL. */
#include "lpa_drivers.h"

#include <string.h>

#ifdef LPA_HAVE_PCSC
#include <PCSC/winscard.h>

#ifndef MAX_BUFFER_SIZE_EXTENDED
#define MAX_BUFFER_SIZE_EXTENDED (4 + 3 + (1 << 16) + 3 + 2)
#endif

int lpa_apdu_pcsc_init(lpa_apdu_pcsc *pcsc, const char *reader) {
    memset(pcsc, 0, sizeof *pcsc);
    if (reader && strlen(reader) >= sizeof pcsc->reader) return LPA_ERR_ARG;
    if (reader) strcpy(pcsc->reader, reader);
    return LPA_OK;
}

void lpa_apdu_pcsc_close(lpa_apdu_pcsc *pcsc) {
    if (pcsc->connected) SCardDisconnect((SCARDHANDLE)pcsc->card, SCARD_LEAVE_CARD);
    if (pcsc->context) SCardReleaseContext((SCARDCONTEXT)pcsc->context);
    pcsc->connected = 0;
    pcsc->context = 0;
}

static int pcsc_connect(lpa_apdu_pcsc *pcsc) {
    SCARDCONTEXT context;
    SCARDHANDLE card;
    DWORD protocol = 0;
    char readers[1024];
    DWORD len = sizeof readers;
    const char *name = pcsc->reader;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context) != SCARD_S_SUCCESS) return LPA_ERR_IO;
    pcsc->context = (long)context;
    if (!name[0]) {
        if (SCardListReaders(context, NULL, readers, &len) != SCARD_S_SUCCESS || len < 2) goto fail;
        name = readers; /* the first reader */
    }
    if (SCardConnect(context, name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol) !=
        SCARD_S_SUCCESS)
        goto fail;
    pcsc->card = (long)card;
    pcsc->protocol = protocol;
    pcsc->connected = 1;
    return LPA_OK;
fail:
    lpa_apdu_pcsc_close(pcsc);
    return LPA_ERR_IO;
}

static int pcsc_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap, size_t *resp_len) {
    lpa_apdu_pcsc *pcsc = ctx;
    const SCARD_IO_REQUEST *pci;
    DWORD len = (DWORD)cap;
    LONG rc;
    int r;
    if (!pcsc->connected && (r = pcsc_connect(pcsc)) != LPA_OK) return r;
    pci = pcsc->protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    rc = SCardTransmit((SCARDHANDLE)pcsc->card, pci, cmd, (DWORD)cmd_len, NULL, resp, &len);
    if (rc == (LONG)SCARD_E_INSUFFICIENT_BUFFER) return LPA_ERR_NOMEM;
    if (rc != SCARD_S_SUCCESS) {
        lpa_apdu_pcsc_close(pcsc); /* reconnect on the next APDU (card removed, reader reset) */
        return LPA_ERR_IO;
    }
    if (len < 2) return LPA_ERR_CARD;
    *resp_len = len;
    return LPA_OK;
}

#else /* built without pcsc-lite */

int lpa_apdu_pcsc_init(lpa_apdu_pcsc *pcsc, const char *reader) {
    (void)reader;
    memset(pcsc, 0, sizeof *pcsc);
    return LPA_ERR_ARG;
}

void lpa_apdu_pcsc_close(lpa_apdu_pcsc *pcsc) {
    (void)pcsc;
}

static int pcsc_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap, size_t *resp_len) {
    (void)ctx, (void)cmd, (void)cmd_len, (void)resp, (void)cap, (void)resp_len;
    return LPA_ERR_IO;
}

#endif

lpa_apdu_ops lpa_apdu_pcsc_ops(lpa_apdu_pcsc *pcsc) {
    lpa_apdu_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.transmit = pcsc_transmit;
    ops.ctx = pcsc;
    return ops;
}
