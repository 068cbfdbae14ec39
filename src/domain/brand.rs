//! Parsed white-label inputs (colours, host names, logos), the derived brand palette, and the
//! brand a page wears (how it is looked up is the dashboard's business: `web::brand`).

use super::inputs::FieldMessage;

/// True when `raw` smuggles a `javascript:` URL (ignoring case, spaces and control
/// characters, the way browsers do when they parse URLs).
pub fn mentions_javascript_url(raw: &str) -> bool {
    let squeezed: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    squeezed.contains("javascript:")
}

/// A colour as `#rrggbb`, lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexColor([u8; 3]);

impl HexColor {
    /// Parses `#rrggbb` or `#rgb`.
    pub fn parse(raw: &str) -> Result<Self, FieldMessage> {
        const MSG: &str = "Use a hex colour like #4f46e5.";
        let hex = raw.trim().strip_prefix('#').ok_or(MSG)?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(MSG);
        }
        let full: String = match hex.len() {
            3 => hex.chars().flat_map(|c| [c, c]).collect(),
            6 => hex.to_owned(),
            _ => return Err(MSG),
        };
        let byte = |i: usize| u8::from_str_radix(&full[i..i + 2], 16).map_err(|_| MSG);
        Ok(Self([byte(0)?, byte(2)?, byte(4)?]))
    }

    /// `#rrggbb`.
    pub fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    fn luminance(self) -> f64 {
        let ch = |v: u8| {
            let c = f64::from(v) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(self.0[0]) + 0.7152 * ch(self.0[1]) + 0.0722 * ch(self.0[2])
    }

    /// WCAG contrast ratio between two colours.
    pub fn contrast(self, other: HexColor) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }

    fn mix(self, other: HexColor, t: f64) -> HexColor {
        let m = |a: u8, b: u8| {
            let v = f64::from(a) + (f64::from(b) - f64::from(a)) * t;
            // Rounded and clamped into 0..=255 first, so the cast cannot truncate.
            v.round().clamp(0.0, 255.0) as u8
        };
        HexColor([
            m(self.0[0], other.0[0]),
            m(self.0[1], other.0[1]),
            m(self.0[2], other.0[2]),
        ])
    }
}

const WHITE: HexColor = HexColor([255, 255, 255]);
const INK: HexColor = HexColor([31, 35, 40]);

/// The custom properties a brand colour sets, chosen so text stays AA-readable whatever
/// colour an agency picks: `--brand-strong` (links, active nav text) is darkened until it
/// reaches 4.5:1 on white, and text on `--brand` is white or ink, whichever contrasts more.
pub fn palette(brand: HexColor) -> [(&'static str, String); 4] {
    let mut strong = brand.mix(INK, 0.15);
    let mut t = 0.15;
    while strong.contrast(WHITE) < 4.5 && t < 1.0 {
        t += 0.05;
        strong = brand.mix(INK, t);
    }
    let contrast = if brand.contrast(WHITE) >= brand.contrast(INK) {
        WHITE
    } else {
        INK
    };
    [
        ("--brand", brand.css()),
        ("--brand-strong", strong.css()),
        ("--brand-soft", brand.mix(WHITE, 0.9).css()),
        ("--brand-contrast", contrast.css()),
    ]
}

/// A host name an agency claims: lower case, no port, no scheme, valid DNS labels.
pub fn parse_host(raw: &str) -> Result<String, FieldMessage> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if mentions_javascript_url(&host) {
        return Err("Enter host names only, like dash.example.com.");
    }
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = host.split('.').collect();
    if host.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| valid_label(l)) {
        return Err("Enter host names only, like dash.example.com (no scheme, port or path).");
    }
    if labels.iter().all(|l| l.chars().all(|c| c.is_ascii_digit())) {
        return Err("Use a host name, not an IP address.");
    }
    Ok(host)
}

/// Largest logo accepted.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;

/// The image type of a logo, judged by its content (never by its name or declared type).
pub fn sniff_logo(bytes: &[u8]) -> Result<&'static str, FieldMessage> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err("The logo must be 256 KB or smaller.");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok("image/webp")
    } else {
        Err("Upload a PNG, JPEG or WebP image (SVG is not accepted).")
    }
}

/// Our own product name, shown only where no agency brand applies.
pub const PRODUCT: &str = "Latchkey";

/// What the layouts need to draw the brand.
#[derive(Debug, Clone)]
pub struct Brand {
    /// Product name ("Latchkey" or the agency's).
    pub product: String,
    /// The letter in the brand mark when there is no logo.
    pub initial: String,
    /// Logo URL (versioned).
    pub logo_url: Option<String>,
    /// Brand stylesheet URL (versioned), when the agency chose a colour.
    pub css_url: Option<String>,
    /// "Powered by Latchkey" under the brand (opt-in for agencies).
    pub powered_by: bool,
    /// Where clients ask for help.
    pub support_email: Option<String>,
    /// The agency whose brand this is.
    pub agency_id: Option<String>,
    /// The agency host name the request came in on, when that chose the brand.
    pub host: Option<String>,
    /// `latchkey demo`: every page carries a banner saying so.
    pub demo: bool,
}

impl Default for Brand {
    fn default() -> Self {
        Self {
            product: PRODUCT.to_owned(),
            initial: "L".to_owned(),
            logo_url: None,
            css_url: None,
            powered_by: false,
            support_email: None,
            agency_id: None,
            host: None,
            demo: false,
        }
    }
}

/// The brand each agency host name showed last, for pages drawn while the database is away.
#[derive(Default)]
pub struct HostBrands {
    brands: std::sync::Mutex<std::collections::HashMap<String, Brand>>,
}

impl HostBrands {
    /// Most host names remembered (beyond it the memory starts over).
    pub const MAX: usize = 4096;

    /// Notes the brand `host` was drawn in, if an agency's host name chose it.
    pub fn remember(&self, host: &str, brand: &Brand) {
        if brand.host.as_deref() != Some(host) {
            return;
        }
        if let Ok(mut brands) = self.brands.lock() {
            if brands.len() >= Self::MAX && !brands.contains_key(host) {
                brands.clear();
            }
            brands.insert(host.to_owned(), brand.clone());
        }
    }

    /// The brand `host` was last drawn in, if an agency's host name chose it.
    pub fn recall(&self, host: &str) -> Option<Brand> {
        self.brands.lock().ok()?.get(host).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_keep_text_readable() {
        assert_eq!(
            HexColor::parse("#ABC").map(HexColor::css),
            Ok("#aabbcc".into())
        );
        assert!(HexColor::parse("red").is_err());
        assert!(HexColor::parse("#12345g").is_err());
        assert!(HexColor::parse("#1234").is_err());
        for raw in ["#ffff00", "#4f46e5", "#000000", "#ffffff", "#22c55e"] {
            let c = HexColor::parse(raw).expect("colour");
            let p = palette(c);
            let strong = HexColor::parse(&p[1].1).expect("strong");
            assert!(strong.contrast(WHITE) >= 4.5, "{raw} → {}", p[1].1);
            let on = HexColor::parse(&p[3].1).expect("contrast");
            assert!(c.contrast(on) >= 3.0, "{raw}");
        }
    }

    #[test]
    fn hosts_are_plain_names() {
        assert_eq!(
            parse_host(" Dash.Acme-Agency.com. "),
            Ok("dash.acme-agency.com".into())
        );
        for bad in [
            "https://dash.acme.com",
            "dash.acme.com:8443",
            "dash.acme.com/x",
            "localhost",
            "127.0.0.1",
            "-bad.com",
            "javascript:alert(1)",
            "",
        ] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logos_are_judged_by_content() {
        assert_eq!(sniff_logo(b"\x89PNG\r\n\x1a\nrest"), Ok("image/png"));
        assert_eq!(sniff_logo(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok("image/jpeg"));
        assert_eq!(sniff_logo(b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert!(sniff_logo(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(LOGO_MAX_BYTES + 1, 0);
        assert!(sniff_logo(&big).is_err());
        assert!(mentions_javascript_url("Java\tScript:alert(1)"));
        assert!(!mentions_javascript_url("Java Script Shop"));
    }
}
