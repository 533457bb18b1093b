//! Each format's committed fixture (tests/fixtures/statements/, written from the formats'
//! published examples) and malformed files naming the line or element at fault.

use super::*;

const MT940: &str = include_str!("../../tests/fixtures/statements/mt940.sta");
const BAI2: &str = include_str!("../../tests/fixtures/statements/bai2.txt");
const CAMT053: &str = include_str!("../../tests/fixtures/statements/camt053.xml");

fn day(text: &str) -> Option<i64> {
    Some(iso_day(text, "test").expect("a date"))
}

fn refs(line: &StatementLine) -> Vec<(&str, &str)> {
    line.references.iter().map(|r| (r.kind, r.value.as_str())).collect()
}

#[test]
fn each_fixture_is_sniffed_as_its_format() {
    assert_eq!(Format::sniff(MT940.as_bytes()), Format::Mt940);
    assert_eq!(Format::sniff(BAI2.as_bytes()), Format::Bai2);
    assert_eq!(Format::sniff(CAMT053.as_bytes()), Format::Camt053);
    assert_eq!(Format::sniff(b"reference,amount\npr_1,10.00\n"), Format::Csv);
}

#[test]
fn mt940_entries_carry_amount_direction_dates_references_and_text() {
    let lines = parse(Format::Mt940, MT940.as_bytes()).expect("the fixture parses");
    assert_eq!(lines.len(), 5);
    let first = &lines[0];
    assert_eq!(
        (first.amount, first.currency.as_str(), first.direction),
        (100_000, "eur", Direction::Credit)
    );
    assert_eq!(
        (first.value_date, first.booking_date),
        (day("2024-11-01"), day("2024-11-01"))
    );
    assert_eq!(
        refs(first),
        [
            ("bank_reference", "8327000090031789"),
            ("supplementary_details", "/OCMT/EUR1000,00/")
        ]
    );
    assert!(first.text.contains("EREF+pr-ref-1001"), "{}", first.text);
    assert_eq!(first.at, "line 5");
    assert_eq!(refs(&lines[1])[0], ("customer_reference", "pr-ref-1002"));
    assert_eq!((lines[2].amount, lines[2].direction), (1_250, Direction::Debit));
    assert_eq!(lines[2].text, "Bank charges November");
    assert_eq!(
        lines[3].direction,
        Direction::Credit,
        "RD: a reversed debit is money in"
    );
    let usd = &lines[4];
    assert_eq!(
        (usd.amount, usd.currency.as_str()),
        (9_999, "usd"),
        "each statement's own currency"
    );
    assert_eq!(usd.booking_date, day("2024-11-05"), "no entry date: the value date");
}

#[test]
fn bai2_entries_read_their_funds_type_fields_and_keep_commas_in_text() {
    let lines = parse(Format::Bai2, BAI2.as_bytes()).expect("the fixture parses");
    assert_eq!(lines.len(), 4);
    let wire = &lines[0];
    assert_eq!(
        (wire.amount, wire.currency.as_str(), wire.direction),
        (100_000, "usd", Direction::Credit)
    );
    assert_eq!(
        refs(wire),
        [("customer_reference", "pr-ref-3001"), ("bank_reference", "BANKREF1")]
    );
    assert_eq!(wire.booking_date, day("2024-11-01"));
    let ach = &lines[1];
    assert_eq!(ach.value_date, day("2024-11-02"), "funds type V: its value date");
    assert_eq!(ach.text, "ACH CREDIT, INVOICE 3002");
    let debit = &lines[2];
    assert_eq!((debit.amount, debit.direction), (4_000, Direction::Debit));
    assert!(
        debit.text.contains("SECOND LINE OF TEXT"),
        "88 continues the text: {}",
        debit.text
    );
    assert_eq!(
        refs(&lines[3]),
        [("bank_reference", "BANKREF4")],
        "funds type S adds three fields"
    );
}

#[test]
fn camt053_entries_carry_transaction_references_first_and_reversals_turn_over() {
    let lines = parse(Format::Camt053, CAMT053.as_bytes()).expect("the fixture parses");
    assert_eq!(lines.len(), 3);
    let credit = &lines[0];
    assert_eq!(
        (credit.amount, credit.currency.as_str(), credit.direction),
        (50_000, "eur", Direction::Credit)
    );
    assert_eq!(
        refs(credit),
        [
            ("MsgId", "MSG-77"),
            ("EndToEndId", "pr-ref-4001"),
            ("AcctSvcrRef", "BANK-0001"),
            ("NtryRef", "N-1")
        ]
    );
    assert_eq!(credit.text, "Invoice 4001 & shipping");
    assert_eq!(
        (credit.booking_date, credit.value_date),
        (day("2024-11-01"), day("2024-11-01"))
    );
    let debit = &lines[1];
    assert_eq!((debit.amount, debit.direction), (12_050, Direction::Debit));
    assert_eq!(debit.booking_date, day("2024-11-02"), "a DtTm's date");
    assert_eq!(
        refs(debit),
        [
            ("InstrId", "refund-99"),
            ("CdtrRef", "RF18539007547034"),
            ("AcctSvcrRef", "BANK-0002")
        ],
        "NOTPROVIDED is no reference"
    );
    let reversed = &lines[2];
    assert_eq!(
        (reversed.amount, reversed.currency.as_str(), reversed.direction),
        (3_000, "jpy", Direction::Debit)
    );
    assert_eq!(reversed.at, "Ntry 3");
}

#[test]
fn malformed_statements_name_the_line_or_element() {
    let cases: [(Format, String, &str); 8] = [
        (
            Format::Mt940,
            MT940.replace(":61:2411021102C250,00", ":61:2411021102X250,00"),
            "line 8",
        ),
        (Format::Mt940, MT940.replace(":60F:C241101EUR1500,00\n", ""), "line 4"),
        (Format::Mt940, "hello\n".into(), "line 1"),
        (Format::Bai2, BAI2.replace("16,495,4000", "16,495,40x0"), "line 6"),
        (Format::Bai2, BAI2.replace("16,195,", "16,777,"), "line 4"),
        (
            Format::Camt053,
            CAMT053.replace("<Amt Ccy=\"EUR\">120.50</Amt>", "<Amt Ccy=\"EUR\">12,0.50</Amt>"),
            "Ntry[2]/Amt",
        ),
        (
            Format::Camt053,
            CAMT053.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>UP</CdtDbtInd>"),
            "Ntry[2]/CdtDbtInd",
        ),
        (Format::Camt053, CAMT053.replace("</Refs>", "</Rfs>"), "line "),
    ];
    for (format, text, named) in cases {
        let error = parse(format, text.as_bytes()).expect_err(named);
        assert!(error.to_string().contains(named), "{named} in {error}");
    }
    let not_camt = parse(Format::Camt053, b"<Document><Other/></Document>").expect_err("not camt");
    assert!(not_camt.message.contains("BkToCstmrStmt"), "{not_camt}");
}

#[test]
fn dates_and_amounts_are_read_strictly() {
    assert_eq!(yymmdd("241231", "t").ok(), day("2024-12-31"));
    assert!(yymmdd("241331", "t").is_err());
    assert!(iso_day("2024-02-30", "t").is_err());
    assert_eq!(minor_units("12,5", "eur", "t"), Ok(1_250));
    assert_eq!(minor_units("1000,", "eur", "t"), Ok(100_000));
    assert!(minor_units("1,234", "eur", "t").is_err(), "three decimals in EUR");
    assert!(minor_units("-5", "eur", "t").is_err());
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_parser_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            for format in [Format::Camt053, Format::Mt940, Format::Bai2] {
                let _ = parse(format, &bytes);
            }
        }

        #[test]
        fn no_parser_panics_on_a_fixture_with_bytes_changed(
            which in 0usize..3,
            changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let (format, text) = [(Format::Mt940, MT940), (Format::Bai2, BAI2), (Format::Camt053, CAMT053)][which];
            let mut bytes = text.as_bytes().to_vec();
            for (at, byte) in changes {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
            let _ = parse(format, &bytes);
        }
    }
}

#[test]
fn mt940_reads_bank_header_lines_funds_codes_and_structured_86_broken_mid_value() {
    let text = "ABNANL2A\n940\nABNANL2A\n:20:ABN AMRO BANK NV\n:25:417164300\n:28:1/1\n\
:60F:C021101EUR2187,95\n:61:0211011102DR800,NSTONONREF//55555\n\
:86:008?00DAUERAUFTRAG?20Miete Nov\nember?21EREF+pr-1\n\
:61:0211021102CR3000,NTRFNONREF//55556\n:62F:C021130EUR4387,95\n:86:statement level\n-\n";
    let lines = parse(Format::Mt940, text.as_bytes()).expect("parses");
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0].direction, lines[0].amount),
        (Direction::Debit, 80_000),
        "DR: debit, funds code R"
    );
    assert_eq!((lines[1].direction, lines[1].amount), (Direction::Credit, 300_000));
    assert!(
        lines[0].text.contains("Miete November?21EREF+pr-1"),
        "{}",
        lines[0].text
    );
    assert_eq!(lines[1].text, "", "a statement-level :86: is no entry's");
}

#[test]
fn bai2_continuations_after_a_closed_16_record_are_its_text() {
    let text = "01,A,B,150716,0713,1,,,2/\n02,B,A,1,150715,2340,GBP,2/\n03,777,GBP,010,10000,,,/\n\
16,191,001,V,150715,,1234567890,RP123/\n88,FR:FP SIP INCOMING\n88,ENDT:20150715\n49,20001,4/\n98,20001,1,6/\n99,20001,1,8/\n";
    let lines = parse(Format::Bai2, text.as_bytes()).expect("parses");
    assert_eq!(
        refs(&lines[0]),
        [("customer_reference", "RP123"), ("bank_reference", "1234567890")]
    );
    assert_eq!(lines[0].text, "FR:FP SIP INCOMING ENDT:20150715");
    assert_eq!((lines[0].amount, lines[0].currency.as_str()), (1, "gbp"));
}

/// Each line-based format is read as it goes: the entries before a malformed one are handed
/// on before the error is found, so nothing but the entry being read is held.
#[test]
fn line_statements_hand_each_entry_on_before_the_rest_of_the_file_is_read() {
    let cut = |text: &str, marker: &str| {
        let at = text.rfind(marker).expect("the marker");
        format!("{}{marker}not an entry\n", &text[..at])
    };
    for (format, text, marker, before) in [(Format::Mt940, MT940, "\n:61:", 4), (Format::Bai2, BAI2, "\n16,", 3)] {
        let broken = cut(text, marker);
        let mut handed = 0;
        let result = read_each(format, broken.as_bytes(), &|_| 0, &mut |_| {
            handed += 1;
            Ok(())
        });
        assert!(result.is_err(), "{format:?}: the last entry is malformed");
        assert_eq!(handed, before, "{format:?}: the entries before it were handed on");
        let whole = read_each(format, text.as_bytes(), &|_| 0, &mut |_| Ok(()));
        assert_eq!(
            whole.expect("the fixture reads") as usize,
            parse(format, text.as_bytes()).expect("parses").len()
        );
    }
}
