#!/usr/bin/env python3
"""Writes a camt.053 statement of N credit entries (each with an EndToEndId, an AcctSvcrRef and
remittance text) for reconciliation benchmarks. Usage: python3 bench/make_camt.py N FILE."""

import sys

n, path = int(sys.argv[1]), sys.argv[2]
entry = (
    "<Ntry><Amt Ccy=\"EUR\">{amount}.{cents:02d}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
    "<BookgDt><Dt>2024-11-01</Dt></BookgDt><ValDt><Dt>2024-11-01</Dt></ValDt>"
    "<AcctSvcrRef>BANK-{i}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>bench-ref-{i}</EndToEndId></Refs>"
    "<RmtInf><Ustrd>Invoice {i} order bench-order-{i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
)
with open(path, "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
            "<BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2024-11-02T06:00:00+00:00</CreDtTm></GrpHdr>"
            "<Stmt><Id>BENCH-1</Id><CreDtTm>2024-11-02T06:00:00+00:00</CreDtTm>"
            "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n")
    for i in range(n):
        f.write(entry.format(i=i, amount=10 + i % 990, cents=i % 100))
    f.write("</Stmt></BkToCstmrStmt></Document>\n")
