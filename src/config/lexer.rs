//! keepalived's lexer (lib/parser.c): comments, quoting, `$NAME` parameters,
//! `@id` conditional lines, `include` with globs, then the block tree.
//!
//! Every step is bounded by [`Limits`], so hostile input ends in a located
//! error instead of unbounded memory or time.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::source::FileSource;
use super::{line_col, Diags, Limits, Loc};

/// A word of the configuration with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub loc: Loc,
    /// Written with quotes: never a brace, never a keyword of the lexer.
    pub quoted: bool,
}

impl Token {
    fn is(&self, s: &str) -> bool {
        !self.quoted && self.text == s
    }
}

/// One logical line after includes, conditionals and parameters.
#[derive(Debug, Clone)]
pub struct Line {
    pub tokens: Vec<Token>,
}

/// A statement: keyword, arguments, and the block that follows it, if any.
#[derive(Debug, Clone)]
pub struct Node {
    pub kw: Token,
    pub args: Vec<Token>,
    pub children: Option<Vec<Node>>,
}

/// Reads `root` and everything it includes into lines.
pub fn lex(
    root: &Path,
    src: &dyn FileSource,
    limits: &Limits,
    config_id: Option<&str>,
    env: &HashMap<String, String>,
    diags: &mut Diags,
) -> Vec<Line> {
    let mut lx = Lexer {
        src,
        limits,
        config_id,
        env,
        diags,
        macros: HashMap::new(),
        stack: Vec::new(),
        files: 0,
        bytes: 0,
        expanded: 0,
        out: Vec::new(),
        aborted: false,
        include_check: 0,
    };
    lx.lex_file(&normalize(root), None, 0, false);
    lx.out
}

struct Lexer<'a> {
    src: &'a dyn FileSource,
    limits: &'a Limits,
    config_id: Option<&'a str>,
    env: &'a HashMap<String, String>,
    diags: &'a mut Diags,
    macros: HashMap<String, String>,
    stack: Vec<PathBuf>,
    files: usize,
    bytes: u64,
    expanded: u64,
    out: Vec<Line>,
    aborted: bool,
    /// keepalived's `include_check` flags in force ([`INCLUDE_R`]...):
    /// saved when a file is opened and restored when it ends (parser.c).
    include_check: u8,
}

/// keepalived's include checks (parser.c): what an `include` reports as an
/// error rather than a warning. R: a file that cannot be read; M: a file
/// named without wildcards that does not exist; W: a pattern that matches
/// nothing; B: an alternative of a `{a,b}` that does not exist.
const INCLUDE_R: u8 = 0x01;
const INCLUDE_M: u8 = 0x02;
const INCLUDE_W: u8 = 0x04;
const INCLUDE_B: u8 = 0x08;

/// The checks an include keyword adds (keepalived.conf(5): `includer` is
/// `include_check readable`, ...; match, wildcard_match and brace_match
/// include the readable check).
fn include_flags(kw: &str) -> u8 {
    match kw {
        "includer" => INCLUDE_R,
        "includem" => INCLUDE_R | INCLUDE_M,
        "includew" => INCLUDE_R | INCLUDE_W,
        "includeb" => INCLUDE_R | INCLUDE_B,
        "includea" => INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B,
        _ => 0,
    }
}

/// Lexical `.`/`..` removal: cycle detection must work on in-memory files too.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Lexer<'_> {
    /// Reads `path`; `checks` are the include checks in force for it (an
    /// error instead of a warning), `brace`: it is one alternative of a
    /// `{a,b}` pattern.
    fn lex_file(&mut self, path: &Path, from: Option<&Loc>, checks: u8, brace: bool) {
        if self.aborted {
            return;
        }
        let name: Arc<str> = Arc::from(path.display().to_string());
        let here = from
            .cloned()
            .unwrap_or_else(|| Loc::new(name.clone(), 1, 1));
        if let Some(pos) = self.stack.iter().position(|p| p == path) {
            let chain: Vec<String> = self.stack[pos..]
                .iter()
                .chain(std::iter::once(&path.to_path_buf()))
                .map(|p| p.display().to_string())
                .collect();
            self.diags
                .error(&here, format!("include cycle: {}", chain.join(" -> ")));
            return;
        }
        if self.stack.len() >= self.limits.max_include_depth {
            self.diags.error(
                &here,
                format!(
                    "includes nested deeper than {} levels",
                    self.limits.max_include_depth
                ),
            );
            return;
        }
        if self.files >= self.limits.max_files {
            self.diags.error(
                &here,
                format!(
                    "more than {} configuration files included",
                    self.limits.max_files
                ),
            );
            self.aborted = true;
            return;
        }
        self.files += 1;
        let remaining = self.limits.max_total_bytes.saturating_sub(self.bytes);
        let data = match self.src.read(path, remaining) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && from.is_some() => {
                let msg = format!("included file '{}' does not exist", path.display());
                let check = if brace { INCLUDE_B } else { INCLUDE_M };
                if checks & check != 0 {
                    self.diags.error(&here, msg);
                } else {
                    self.diags
                        .warning(&here, format!("{msg}; ignored as keepalived does"));
                }
                return;
            }
            Err(e) if from.is_some() && checks & INCLUDE_R == 0 => {
                self.diags.warning(
                    &here,
                    format!(
                        "cannot read '{}': {e}; skipped as keepalived does without include_check read",
                        path.display()
                    ),
                );
                return;
            }
            Err(e) => {
                self.diags
                    .error(&here, format!("cannot read '{}': {e}", path.display()));
                return;
            }
        };
        if data.len() as u64 > remaining {
            self.diags.error(
                &here,
                format!(
                    "configuration larger than the {}-byte limit (all included files together)",
                    self.limits.max_total_bytes
                ),
            );
            self.aborted = true;
            return;
        }
        self.bytes += data.len() as u64;
        let text = match std::str::from_utf8(&data) {
            Ok(t) => t,
            Err(e) => {
                let (line, col) = line_col(&data, e.valid_up_to());
                self.diags.error(
                    &Loc::new(name, line, col),
                    "invalid UTF-8: not a text configuration file",
                );
                return;
            }
        };
        if let Some(off) = text.find('\0') {
            let (line, col) = line_col(&data, off);
            self.diags.error(
                &Loc::new(name, line, col),
                "NUL byte: not a text configuration file",
            );
            return;
        }
        self.stack.push(path.to_path_buf());
        let saved_checks = self.include_check;
        let lines: Vec<&str> = text.split('\n').collect();
        let mut i = 0;
        while i < lines.len() && !self.aborted {
            let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
            i += 1;
            let raw = lines[i - 1].strip_suffix('\r').unwrap_or(lines[i - 1]);
            let mut rest = raw.trim_start();
            let mut col = raw.len() - rest.len() + 1;
            if let Some(tagged) = rest.strip_prefix('@') {
                let end = tagged.find(char::is_whitespace).unwrap_or(tagged.len());
                let tag = &tagged[..end];
                let (neg, id) = match tag.strip_prefix('^') {
                    Some(id) => (true, id),
                    None => (false, tag),
                };
                if (self.config_id == Some(id)) == neg {
                    continue;
                }
                let after = &tagged[end..];
                let trimmed = after.trim_start();
                col += 1 + end + (after.len() - trimmed.len());
                rest = trimmed;
            }
            if let Some((mname, value)) = parse_definition(rest) {
                // A trailing `\` (even after a comment) continues the definition;
                // the value then expands to several lines.
                let (first, mut more) = split_continuation(value);
                let mut value = decomment(first).trim().to_string();
                while more && i < lines.len() {
                    let (piece, cont) = split_continuation(lines[i]);
                    value.push('\n');
                    value.push_str(decomment(piece).trim());
                    more = cont;
                    i += 1;
                }
                self.macros.insert(mname.to_string(), value);
                continue;
            }
            self.line(decomment(rest), &name, lineno, col, path, 0);
        }
        self.include_check = saved_checks;
        self.stack.pop();
    }

    /// One logical line: `~SEQ`/`~LST` repetition, parameters, words, `include`.
    fn line(
        &mut self,
        content: &str,
        file: &Arc<str>,
        lineno: u32,
        col: usize,
        path: &Path,
        depth: usize,
    ) {
        if self.aborted {
            return;
        }
        let loc = Loc::new(file.clone(), lineno, u32::try_from(col).unwrap_or(u32::MAX));
        if let Some(rep) = content.strip_prefix('~') {
            if depth >= 4 {
                self.diags.error(&loc, "~SEQ/~LST nested more than 4 deep");
                return;
            }
            match parse_repeat(rep) {
                Ok((var, values, rest)) => {
                    let saved = self.macros.get(&var).cloned();
                    for v in values {
                        self.macros.insert(var.clone(), v);
                        self.line(rest, file, lineno, col, path, depth + 1);
                        if self.aborted {
                            break;
                        }
                    }
                    match saved {
                        Some(v) => self.macros.insert(var, v),
                        None => self.macros.remove(&var),
                    };
                }
                Err(msg) => self.diags.error(&loc, msg),
            }
            return;
        }
        let expanded;
        let content = if content.contains('$') {
            match self.expand(content, path, 0) {
                Ok(s) => {
                    self.expanded += s.len() as u64;
                    if self.expanded > self.limits.max_total_bytes.saturating_mul(4) {
                        self.diags
                            .error(&loc, "parameter expansion exceeds the size limit");
                        self.aborted = true;
                        return;
                    }
                    expanded = s;
                    expanded.as_str()
                }
                Err(msg) => {
                    self.diags.error(&loc, msg);
                    return;
                }
            }
        } else {
            content
        };
        for piece in content.split('\n') {
            let tokens = match tokenize(piece, file, lineno, col) {
                Ok(t) => t,
                Err((c, msg)) => {
                    self.diags.error(&Loc::new(file.clone(), lineno, c), msg);
                    continue;
                }
            };
            let Some(kw) = tokens.first() else {
                continue;
            };
            if !kw.quoted
                && matches!(
                    kw.text.as_str(),
                    "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
                )
            {
                self.include(&tokens, path);
                continue;
            }
            if !kw.quoted && kw.text == "include_check" {
                // Read here, where includes are: it rules the includes
                // after it (global_defs accepts the line).
                self.set_include_check(&tokens);
            }
            self.out.push(Line { tokens });
            if self.out.len() > self.limits.max_lines {
                self.diags.error(
                    &loc,
                    format!(
                        "configuration expands to more than {} lines",
                        self.limits.max_lines
                    ),
                );
                self.aborted = true;
                return;
            }
        }
    }

    /// `include_check [WORD...]` (keepalived parser.c `include_check_set`):
    /// `read`, `match`, `wildcard_match`, `brace_match` set the checks (each
    /// with `read`), `+WORD` adds one, `-WORD` removes one; no word: all.
    fn set_include_check(&mut self, tokens: &[Token]) {
        if tokens.len() < 2 {
            self.include_check = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;
            return;
        }
        for (i, t) in tokens.iter().enumerate().skip(1) {
            let (op, word) = match t.text.as_bytes().first() {
                Some(b'+') => (1, &t.text[1..]),
                Some(b'-') => (-1, &t.text[1..]),
                _ => (0, t.text.as_str()),
            };
            if op == 0 && i > 1 {
                self.diags.warning(
                    &t.loc,
                    format!("duplicate include_check '{}'; ignored", t.text),
                );
                continue;
            }
            let flag = match word {
                "read" => INCLUDE_R,
                "match" => INCLUDE_M,
                "wildcard_match" => INCLUDE_W,
                "brace_match" => INCLUDE_B,
                _ => {
                    self.diags.warning(
                        &t.loc,
                        format!("unknown include_check type '{word}' (read, match, wildcard_match, brace_match); ignored"),
                    );
                    if op == 0 {
                        self.include_check = 0;
                    }
                    continue;
                }
            };
            match op {
                0 => self.include_check = INCLUDE_R | flag,
                1 => self.include_check |= flag,
                _ => self.include_check &= !flag,
            }
        }
    }

    fn include(&mut self, tokens: &[Token], current: &Path) {
        let kw = &tokens[0];
        let checks = self.include_check | include_flags(&kw.text);
        if tokens.len() < 2 {
            self.diags.error(
                &kw.loc,
                format!("'{}' expects a file name or pattern", kw.text),
            );
            return;
        }
        let base = current.parent().unwrap_or(Path::new(""));
        for arg in &tokens[1..] {
            let brace = arg.text.contains('{');
            let joined = normalize(&base.join(&arg.text));
            let pattern = joined.to_string_lossy().into_owned();
            let expansions = match brace_expand(&pattern, 256) {
                Some(e) => e,
                None => {
                    self.diags
                        .error(&arg.loc, "brace expansion gives more than 256 patterns");
                    continue;
                }
            };
            for pat in expansions {
                if self.aborted {
                    return;
                }
                if !self.src.is_pattern(&pat) {
                    self.lex_file(Path::new(&pat), Some(&arg.loc), checks, brace);
                    continue;
                }
                let room = self.limits.max_files.saturating_sub(self.files);
                let files = match self.src.glob(&pat, room) {
                    Ok(f) => f,
                    Err(e) => {
                        self.diags
                            .error(&arg.loc, format!("include pattern '{pat}': {e}"));
                        continue;
                    }
                };
                if files.len() > room {
                    self.diags.error(
                        &arg.loc,
                        format!(
                            "include pattern '{pat}' matches more than the {} files allowed",
                            self.limits.max_files
                        ),
                    );
                    self.aborted = true;
                    return;
                }
                if files.is_empty() {
                    let msg = format!("include pattern '{pat}' matches no file");
                    if checks & INCLUDE_W != 0 {
                        self.diags.error(&arg.loc, msg);
                    } else {
                        self.diags.warning(&arg.loc, msg);
                    }
                }
                for f in files {
                    self.lex_file(&normalize(&f), Some(&arg.loc), checks, brace);
                }
            }
        }
    }

    /// `${NAME}` and `$NAME` substitution; undefined names stay verbatim.
    fn expand(&self, s: &str, file: &Path, depth: usize) -> Result<String, String> {
        if depth > 16 {
            return Err("parameters nested more than 16 deep (recursive definition?)".into());
        }
        let max = self.limits.max_line_len;
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => (&inner[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            let value = match name {
                "" => None,
                "_HASH" => Some("#".to_string()),
                "_BANG" => Some("!".to_string()),
                // `${_ENV NAME}` (keepalived 2.3): the variable's value; an
                // unset one gives nothing, as keepalived's getenv() NULL does.
                n if n.starts_with("_ENV ") => Some(
                    self.env
                        .get(n["_ENV ".len()..].trim())
                        .cloned()
                        .unwrap_or_default(),
                ),
                "_PWD" => Some(
                    file.parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                ),
                n => match self.macros.get(n) {
                    Some(v) if v.contains('$') => Some(self.expand(v, file, depth + 1)?),
                    Some(v) => Some(v.clone()),
                    None => None,
                },
            };
            match value {
                Some(v) if !name.is_empty() => {
                    out.push_str(&v);
                    rest = &after[consumed..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
            if out.len() > max {
                return Err(format!("parameter expansion longer than {max} bytes"));
            }
        }
        out.push_str(rest);
        if out.len() > max {
            return Err(format!("parameter expansion longer than {max} bytes"));
        }
        Ok(out)
    }
}

/// `SEQ(var, [start, [step,]] end) rest`, `SEQx(...)` (hex) or
/// `LST(var, v1, v2, ...) rest` (the text after `~`): the values and the rest.
fn parse_repeat(s: &str) -> Result<(String, Vec<String>, &str), String> {
    const MAX: usize = 10_000;
    let (kind, body) = if let Some(b) = s.strip_prefix("SEQx(") {
        ("SEQx", b)
    } else if let Some(b) = s.strip_prefix("SEQ(") {
        ("SEQ", b)
    } else if let Some(b) = s.strip_prefix("LST(") {
        ("LST", b)
    } else {
        return Err(
            "expected ~SEQ(var, start, step, end), ~SEQx(...) or ~LST(var, values...)".into(),
        );
    };
    let close = body
        .find(')')
        .ok_or_else(|| format!("~{kind}: missing ')'"))?;
    let args: Vec<&str> = body[..close].split(',').map(str::trim).collect();
    let rest = body[close + 1..].trim_start();
    let var = args[0];
    if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!("~{kind}: '{var}' is not a parameter name"));
    }
    if kind == "LST" {
        if args.len() > MAX + 1 {
            return Err(format!("~LST: more than {MAX} values"));
        }
        return Ok((
            var.to_string(),
            args[1..].iter().map(|v| v.to_string()).collect(),
            rest,
        ));
    }
    let nums: Result<Vec<i64>, _> = args[1..].iter().map(|a| a.parse::<i64>()).collect();
    let nums = nums.map_err(|_| format!("~{kind}: expected integers after the name"))?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (1, 1, *end),
        [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => {
            return Err(format!(
                "~{kind}: expected (var, end), (var, start, end) or (var, start, step, end)"
            ))
        }
    };
    if step == 0 || (step > 0 && end < start) || (step < 0 && end > start) {
        return Err(format!(
            "~{kind}: step {step} never goes from {start} to {end}"
        ));
    }
    let count = (end - start) / step + 1;
    if count > MAX as i64 {
        return Err(format!("~{kind}: repeats {count} times, more than {MAX}"));
    }
    let values = (0..count)
        .map(|k| start + k * step)
        .map(|v| {
            if kind == "SEQx" {
                format!("{v:x}")
            } else {
                v.to_string()
            }
        })
        .collect();
    Ok((var.to_string(), values, rest))
}

/// A definition line without its trailing `\`, and whether it had one.
fn split_continuation(line: &str) -> (&str, bool) {
    let t = line.trim_end();
    match t.strip_suffix('\\') {
        Some(body) => (body, true),
        None => (t, false),
    }
}

/// `$NAME=value` (no space before `=`).
fn parse_definition(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('$')?;
    let eq = body.find('=')?;
    let name = &body[..eq];
    let valid = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    valid.then(|| (name, &body[eq + 1..]))
}

/// Cuts a `#` or `!` comment that is outside quotes.
fn decomment(s: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#' | '!') => return &s[..i],
            (None, _) => {}
        }
    }
    s
}

/// Splits a decommented line into words. `col` is the 1-based column of `s`'s
/// first byte; the error carries the column of an unterminated quote.
fn tokenize(s: &str, file: &Arc<str>, line: u32, col: usize) -> Result<Vec<Token>, (u32, String)> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let colof = |i: usize| -> u32 {
        let byte = chars.get(i).map_or(s.len(), |&(b, _)| b);
        u32::try_from(col + byte).unwrap_or(u32::MAX)
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].1.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let loc = Loc::new(file.clone(), line, colof(start));
        if matches!(chars[i].1, '{' | '}') {
            out.push(Token {
                text: chars[i].1.to_string(),
                loc,
                quoted: false,
            });
            i += 1;
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut depth = 0usize;
        while i < chars.len() {
            let c = chars[i].1;
            if c.is_whitespace() {
                break;
            }
            if c == '"' || c == '\'' {
                quoted = true;
                let qstart = i;
                i += 1;
                loop {
                    let Some(&(_, ch)) = chars.get(i) else {
                        return Err((colof(qstart), format!("unterminated {c}quote{c}")));
                    };
                    i += 1;
                    if ch == c {
                        break;
                    }
                    if ch == '\\' {
                        let Some(&(_, e)) = chars.get(i) else {
                            return Err((colof(qstart), format!("unterminated {c}quote{c}")));
                        };
                        i += 1;
                        match e {
                            'n' => text.push('\n'),
                            't' => text.push('\t'),
                            'r' => text.push('\r'),
                            'x' => {
                                let hex: String = chars[i..]
                                    .iter()
                                    .take(2)
                                    .map(|&(_, h)| h)
                                    .take_while(char::is_ascii_hexdigit)
                                    .collect();
                                i += hex.len();
                                match u8::from_str_radix(&hex, 16) {
                                    Ok(b) => text.push(char::from(b)),
                                    Err(_) => text.push('x'),
                                }
                            }
                            other => text.push(other),
                        }
                    } else {
                        text.push(ch);
                    }
                }
                continue;
            }
            if c == '{' {
                // `name{` opens a block; `a{b,c}` inside a word is brace expansion.
                let next = chars.get(i + 1).map(|&(_, n)| n);
                if !matches!(next, Some(n) if !n.is_whitespace()) {
                    break;
                }
                depth += 1;
            } else if c == '}' {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            text.push(c);
            i += 1;
        }
        out.push(Token { text, loc, quoted });
    }
    Ok(out)
}

/// Shell brace expansion of the first `{a,b}` group, recursively; `None` past `max` results.
fn brace_expand(s: &str, max: usize) -> Option<Vec<String>> {
    let bytes = s.as_bytes();
    let Some(open) = s.find('{') else {
        return Some(vec![s.to_string()]);
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return Some(vec![s.to_string()]);
    };
    if commas.is_empty() {
        return Some(vec![s.to_string()]);
    }
    let (prefix, suffix) = (&s[..open], &s[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &s[w[0] + 1..w[1]];
        for e in brace_expand(&format!("{prefix}{alt}{suffix}"), max)? {
            out.push(e);
            if out.len() > max {
                return None;
            }
        }
    }
    Some(out)
}

/// Builds the block tree. `{` may end the keyword's line or start the next one.
pub fn build_tree(lines: Vec<Line>, limits: &Limits, diags: &mut Diags) -> Vec<Node> {
    let mut stack: Vec<(Node, Vec<Node>)> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    let mut prev_line_open = false;
    for line in lines {
        let mut cur: Option<Node> = None;
        let mut first = true;
        for tok in line.tokens {
            let at_line_start = std::mem::replace(&mut first, false);
            if tok.is("{") {
                let list = match stack.last_mut() {
                    Some((_, l)) => l,
                    None => &mut top,
                };
                let node = match cur.take() {
                    Some(n) => n,
                    None if at_line_start && prev_line_open => match list.pop() {
                        Some(n) => n,
                        None => anonymous(&tok),
                    },
                    None => {
                        diags.error(&tok.loc, "'{' without a keyword before it");
                        anonymous(&tok)
                    }
                };
                if stack.len() >= limits.max_block_depth {
                    diags.error(
                        &tok.loc,
                        format!(
                            "blocks nested deeper than {} levels; rest of the configuration ignored",
                            limits.max_block_depth
                        ),
                    );
                    return unwind(stack, top);
                }
                stack.push((node, Vec::new()));
            } else if tok.is("}") {
                let list = match stack.last_mut() {
                    Some((_, l)) => l,
                    None => &mut top,
                };
                if let Some(n) = cur.take() {
                    list.push(n);
                }
                match stack.pop() {
                    Some((mut node, children)) => {
                        node.children = Some(children);
                        match stack.last_mut() {
                            Some((_, l)) => l.push(node),
                            None => top.push(node),
                        }
                    }
                    None => diags.error(&tok.loc, "'}' without a matching '{'"),
                }
            } else {
                match &mut cur {
                    Some(n) => n.args.push(tok),
                    None => {
                        cur = Some(Node {
                            kw: tok,
                            args: Vec::new(),
                            children: None,
                        })
                    }
                }
            }
        }
        prev_line_open = false;
        if let Some(n) = cur {
            let list = match stack.last_mut() {
                Some((_, l)) => l,
                None => &mut top,
            };
            list.push(n);
            prev_line_open = true;
        }
    }
    for (node, _) in stack.iter().rev() {
        diags.error(
            &node.kw.loc,
            format!("'{}' block opened here is missing its '}}'", node.kw.text),
        );
    }
    unwind(stack, top)
}

fn anonymous(tok: &Token) -> Node {
    Node {
        kw: tok.clone(),
        args: Vec::new(),
        children: None,
    }
}

/// Closes any blocks still open so partial input still yields a tree.
fn unwind(mut stack: Vec<(Node, Vec<Node>)>, mut top: Vec<Node>) -> Vec<Node> {
    while let Some((mut node, children)) = stack.pop() {
        node.children = Some(children);
        match stack.last_mut() {
            Some((_, l)) => l.push(node),
            None => top.push(node),
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokenize(decomment(s), &Arc::from("f"), 1, 1)
            .map(|v| v.into_iter().map(|t| t.text).collect())
            .unwrap_or_default()
    }

    #[test]
    fn quotes_concatenate_and_comments_cut() {
        assert_eq!(
            toks(r#"script "killall -0 sshd"  # cheap"#),
            ["script", "killall -0 sshd"]
        );
        assert_eq!(toks(r#"a"b c"'d'e ! x"#), ["ab cde"]);
        assert_eq!(toks("vrrp_instance VI_1{"), ["vrrp_instance", "VI_1", "{"]);
        assert_eq!(toks("group { A B }"), ["group", "{", "A", "B", "}"]);
        assert_eq!(toks("include /x/{a,b}.conf"), ["include", "/x/{a,b}.conf"]);
        assert_eq!(toks(r#"p "a\tb\x41""#), ["p", "a\tbA"]);
    }

    #[test]
    fn unterminated_quote_reports_its_column() {
        let e = tokenize("notify \"abc", &Arc::from("f"), 3, 5).unwrap_err();
        assert_eq!(e.0, 12);
    }

    #[test]
    fn brace_expansion() {
        assert_eq!(brace_expand("/a/{b,c}/{d,e}", 10).unwrap().len(), 4);
        assert_eq!(brace_expand("/a/{b}", 10).unwrap(), ["/a/{b}"]);
        assert!(brace_expand("{a,b}{a,b}{a,b}{a,b}", 10).is_none());
    }

    #[test]
    fn definitions() {
        assert_eq!(parse_definition("$IF=eth0"), Some(("IF", "eth0")));
        assert_eq!(parse_definition("$IF =eth0"), None);
        assert_eq!(parse_definition("$1=x"), None);
    }
}
