//! Sizes in bytes for the archive's caps (`--archive-max-payload 512KiB`, `archive_max_total =
//! "1GiB"`): a number of bytes, or a number with a unit. `KiB`/`MiB`/`GiB` are powers of 1024,
//! `KB`/`MB`/`GB` powers of 1000 (and `K`/`M`/`G` are read as the binary ones, as `ls -h` prints).

/// Parses `1048576`, `512KiB`, `1 MiB`, `256MB`, `1G`. Zero is allowed (it archives nothing).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    if number.is_empty() {
        return Err("not a size: write bytes (1048576) or a number with a unit (512KiB, 1MiB, 2GB)".into());
    }
    let unit = unit.trim();
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(format!("not a size unit: {unit:?} (write B, KiB, MiB, GiB, KB, MB or GB)")),
    };
    number.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)).ok_or_else(|| "too large a size".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_units() {
        for (text, bytes) in [
            ("0", 0),
            ("1048576", 1 << 20),
            ("512KiB", 512 << 10),
            ("1 MiB", 1 << 20),
            ("1M", 1 << 20),
            ("256mib", 256 << 20),
            ("2GB", 2_000_000_000),
            ("10kb", 10_000),
            ("7B", 7),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for text in ["", "MiB", "1.5MiB", "-1", "1 TB", "99999999999999999999", "18446744073709551615GiB"] {
            assert!(parse_size(text).is_err(), "{text:?}");
        }
    }
}
