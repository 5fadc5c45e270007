//! Any `Serialize` value as compact JSON text, byte for byte what `serde_json::to_string`
//! writes (tests compare the two on every conformance vector's event and machine output).
//!
//! For the bindings' results, which cross to JavaScript as JSON text: serde_json escapes every
//! string a byte at a time, struct field names included, which was 5 % of a LimePhone call in
//! Node (its `serialize_str`, CPU profile; bench/PROFILE.md, fifteenth session). Here a struct's
//! field names, which are this crate's own constants, are copied as they are, and the other
//! strings go through [`super::write_string`], which checks eight bytes at a time.

use alloc::string::String;
use core::fmt::{self, Display, Write as _};
use serde::ser::{self, Serialize};

/// `value` as compact JSON text, appended to `out`; `Err` for what JSON cannot hold (a map key
/// that is not a string, a number or a boolean), as serde_json refuses it.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Unsupported> {
    value.serialize(&mut Writer { out })
}

/// A value JSON text cannot hold. Carries no text of the value.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value JSON cannot hold")
    }
}

impl ser::StdError for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: Display>(_: T) -> Self {
        Unsupported
    }
}

struct Writer<'a> {
    out: &'a mut String,
}

impl Writer<'_> {
    fn integer(&mut self, value: impl itoa::Integer) {
        self.out.push_str(itoa::Buffer::new().format(value));
    }

    /// A float as serde_json writes it (its own formatting, `null` when not finite): rare in an
    /// event, so its writer is borrowed rather than copied.
    fn float<F: Serialize>(&mut self, value: F) -> Result<(), Unsupported> {
        let text = serde_json::to_string(&value).map_err(|_| Unsupported)?;
        self.out.push_str(&text);
        Ok(())
    }

    /// `"name":`, for a struct's field: its names are Rust identifiers or this crate's renames,
    /// never text that needs an escape (checked in debug builds, which every test runs).
    fn field_name(&mut self, name: &'static str) {
        debug_assert!(
            name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'),
            "a field name that needs escaping"
        );
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
    }

    /// `{"variant":`, an enum variant with contents (serde's externally tagged form).
    fn variant_key(&mut self, variant: &'static str) {
        self.out.push('{');
        self.field_name(variant);
    }
}

/// A sequence, map or struct being written: whether an element was written yet (for commas).
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    /// The closing text: `]`, `}`, or `]}` / `}}` for an enum variant's contents.
    close: &'static str,
}

impl<'w, 'a> Compound<'w, 'a> {
    fn open(writer: &'w mut Writer<'a>, opening: &str, close: &'static str) -> Self {
        writer.out.push_str(opening);
        Compound {
            writer,
            first: true,
            close,
        }
    }

    /// Writes the closing text.
    fn finish(self) -> Result<(), Unsupported> {
        self.writer.out.push_str(self.close);
        Ok(())
    }

    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.writer.out.push(',');
        }
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, value: bool) -> Result<(), Unsupported> {
        self.out.push_str(if value { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, value: i8) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_i16(self, value: i16) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_i32(self, value: i32) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_i64(self, value: i64) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_i128(self, value: i128) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_u8(self, value: u8) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_u16(self, value: u16) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_u32(self, value: u32) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_u64(self, value: u64) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_u128(self, value: u128) -> Result<(), Unsupported> {
        self.integer(value);
        Ok(())
    }
    fn serialize_f32(self, value: f32) -> Result<(), Unsupported> {
        self.float(value)
    }
    fn serialize_f64(self, value: f64) -> Result<(), Unsupported> {
        self.float(value)
    }
    fn serialize_char(self, value: char) -> Result<(), Unsupported> {
        super::write_string(self.out, value.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, value: &str) -> Result<(), Unsupported> {
        super::write_string(self.out, value);
        Ok(())
    }
    fn serialize_bytes(self, value: &[u8]) -> Result<(), Unsupported> {
        self.out.push('[');
        for (index, byte) in value.iter().enumerate() {
            if index > 0 {
                self.out.push(',');
            }
            self.integer(*byte);
        }
        self.out.push(']');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.out.push('}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w, 'a>, Unsupported> {
        Ok(Compound::open(self, "[", "]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>, Unsupported> {
        self.variant_key(variant);
        Ok(Compound::open(self, "[", "]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w, 'a>, Unsupported> {
        Ok(Compound::open(self, "{", "}"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>, Unsupported> {
        self.variant_key(variant);
        Ok(Compound::open(self, "{", "}}"))
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        let mut text = String::new();
        write!(text, "{value}").map_err(|_| Unsupported)?;
        self.serialize_str(&text)
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.comma();
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish()
    }
}

/// The tuple kinds are written as sequences, by [`ser::SerializeSeq`]'s methods.
macro_rules! as_sequence {
    ($($kind:ident :: $element:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Unsupported;
            fn $element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> Result<(), Unsupported> {
                ser::SerializeSeq::end(self)
            }
        }
    )*};
}

as_sequence!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    /// A key as serde_json writes one: a string as it is; a number or a boolean quoted; anything
    /// else refused.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.comma();
        let start = self.writer.out.len();
        key.serialize(&mut *self.writer)?;
        let written = self.writer.out.get(start..).unwrap_or_default();
        match written.bytes().next() {
            Some(b'"') => {}
            Some(b'-' | b'0'..=b'9' | b't' | b'f') => {
                self.writer.out.insert(start, '"');
                self.writer.out.push('"');
            }
            _ => return Err(Unsupported),
        }
        self.writer.out.push(':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish()
    }
}

/// A struct and a struct variant's contents: `"name":value` pairs.
macro_rules! as_struct {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                value: &T,
            ) -> Result<(), Unsupported> {
                self.comma();
                self.writer.field_name(name);
                value.serialize(&mut *self.writer)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.finish()
            }
        }
    )*};
}

as_struct!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::{vec, vec::Vec};
    use proptest::prelude::*;
    use serde::Serialize;

    fn text_of<T: Serialize + ?Sized>(value: &T) -> Result<String, Unsupported> {
        let mut out = String::new();
        write(&mut out, value).map(|()| out)
    }

    proptest! {
        #[test]
        fn writes_any_value_as_serde_json_does(value in super::super::tests::value()) {
            prop_assert_eq!(text_of(&value).unwrap(), serde_json::to_string(&value).unwrap());
        }

        #[test]
        fn writes_keys_of_other_types_as_serde_json_does(
            integers in proptest::collection::btree_map(any::<i64>(), any::<u8>(), 0..4),
            floats in proptest::collection::vec(any::<f64>(), 0..3),
            flag in any::<bool>(),
        ) {
            prop_assert_eq!(text_of(&integers).unwrap(), serde_json::to_string(&integers).unwrap());
            let mut booleans = BTreeMap::new();
            booleans.insert(flag, ());
            prop_assert_eq!(text_of(&booleans).unwrap(), serde_json::to_string(&booleans).unwrap());
            for float in floats {
                prop_assert_eq!(text_of(&float).unwrap(), serde_json::to_string(&float).unwrap());
            }
        }
    }

    #[derive(Serialize)]
    enum Shapes {
        Unit,
        Newtype(u8),
        Tuple(u8, char),
        Struct { field: Option<&'static str> },
    }

    #[derive(Serialize)]
    struct Everything {
        shapes: Vec<Shapes>,
        bytes: &'static [u8],
        tuple: (i128, u128, f32),
        nothing: (),
        #[serde(flatten)]
        flattened: BTreeMap<&'static str, &'static str>,
    }

    #[test]
    fn writes_every_shape_serde_has_as_serde_json_does() {
        let mut flattened = BTreeMap::new();
        flattened.insert("quote\"d", "tab\t");
        let everything = Everything {
            shapes: vec![
                Shapes::Unit,
                Shapes::Newtype(7),
                Shapes::Tuple(1, '\u{1}'),
                Shapes::Struct { field: Some("é") },
                Shapes::Struct { field: None },
            ],
            bytes: b"\x00\xff",
            tuple: (i128::MIN, u128::MAX, 1.5),
            nothing: (),
            flattened,
        };
        assert_eq!(
            text_of(&everything).unwrap(),
            serde_json::to_string(&everything).unwrap()
        );
    }

    #[test]
    fn refuses_the_keys_serde_json_refuses() {
        let mut by_unit = BTreeMap::new();
        by_unit.insert((), 1);
        assert!(text_of(&by_unit).is_err() && serde_json::to_string(&by_unit).is_err());
        let mut by_list = BTreeMap::new();
        by_list.insert(vec![1], 1);
        assert!(text_of(&by_list).is_err() && serde_json::to_string(&by_list).is_err());
    }
}
