#!/usr/bin/env python3
"""Writes a camt.053 statement of N credit entries (each with an EndToEndId, an AcctSvcrRef and
remittance text) for reconciliation benchmarks.

    python3 bench/make_camt.py N FILE            references payrec has none of
    python3 bench/make_camt.py N FILE --ledger   the N payments of bench/import/history.py N:
                                                 each entry names one (bank-00000042), with its
                                                 amount, currency and day
"""

import sys
import time

n, path = int(sys.argv[1]), sys.argv[2]
ledger = "--ledger" in sys.argv[3:]
entry = (
    "<Ntry><Amt Ccy=\"{ccy}\">{amount}.{cents:02d}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
    "<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
    "<AcctSvcrRef>BANK-{i}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>{ref}</EndToEndId></Refs>"
    "<RmtInf><Ustrd>Invoice {i} order bench-order-{i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
)


def line(i):
    if not ledger:
        return entry.format(i=i, ccy="EUR", amount=10 + i % 990, cents=i % 100, day="2024-11-01",
                            ref=f"bench-ref-{i}")
    # As bench/import/history.py writes payment i.
    minor = 100 + (i * 7919) % 100_000
    created = 1_700_000_000 + i * 30
    day = time.strftime("%Y-%m-%d", time.gmtime(created + 60))
    return entry.format(i=i, ccy="EUR" if i % 3 == 0 else "USD", amount=minor // 100, cents=minor % 100,
                        day=day, ref=f"bank-{i:08d}")


with open(path, "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
            "<BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2024-11-02T06:00:00+00:00</CreDtTm></GrpHdr>"
            "<Stmt><Id>BENCH-1</Id><CreDtTm>2024-11-02T06:00:00+00:00</CreDtTm>"
            "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n")
    for i in range(n):
        f.write(line(i))
    f.write("</Stmt></BkToCstmrStmt></Document>\n")
