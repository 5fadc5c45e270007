//! Any `serde::Serialize` value as Python objects, built directly from the Rust value: the
//! field names, renames and vocabularies stay defined once, where the type is, and no JSON
//! text is written only to be parsed again by `json.loads`. It knows nothing of telhook: the
//! Python binding uses it for the event, the one result on the hot path.
//!
//! Hand-written rather than a generic serde-to-Python crate because of what the hot path needs
//! and such a crate does not do: every `&'static str` the core serializes (field names and
//! vocabulary words) becomes one interned Python string, created once per thread and then
//! reused by pointer, and a long string the event repeats (a message text that is also in
//! `raw`) becomes one Python object instead of two copies.
//!
//! The objects are the ones `json.loads` of the core's JSON gives: dicts (in serialization
//! order), lists, str, int, float, bool and None.

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::thread::LocalKey;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use serde::ser::{self, Serialize};

/// Serializes `value` into Python objects.
pub fn to_python<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    // The two name tables are taken from the thread once for the whole value and put back
    // after, not reached once a name: a thread-local in a shared library goes through
    // `__tls_get_addr`, and with the `RefCell` borrow that was ~40 instructions a name, ~1.7 k
    // of a LoopLookup event (callgrind).
    let mut caches = Caches {
        repeats: Repeats::default(),
        statics: taken(&STATIC_STRINGS, STATIC_SLOTS),
        keys: taken(&KEY_STRINGS, KEY_SLOTS),
        shapes: STRUCT_SHAPES.take(),
    };
    let built = value
        .serialize(ToPython {
            py,
            caches: &mut caches,
            is_key: false,
        })
        .map_err(|failure| failure.0);
    let Caches {
        statics,
        keys,
        shapes,
        ..
    } = caches;
    STATIC_STRINGS.with(|cell| cell.replace(statics));
    KEY_STRINGS.with(|cell| cell.replace(keys));
    STRUCT_SHAPES.with(|cell| cell.replace(shapes));
    built
}

/// A thread's name table, taken out of it; a new one on the thread's first conversion (or if
/// one that panicked did not put it back).
fn taken<T>(table: &'static LocalKey<Cell<Vec<Option<T>>>>, slots: usize) -> Vec<Option<T>> {
    let taken = table.take();
    if taken.is_empty() {
        return (0..slots).map(|_| None).collect();
    }
    taken
}

/// What one conversion reuses: the long strings it built, and the thread's name tables.
struct Caches<'py> {
    repeats: Repeats<'py>,
    statics: Vec<StaticSlot>,
    keys: Vec<KeySlot>,
    shapes: Vec<StructShape>,
}

impl<'py> Caches<'py> {
    fn static_string(&mut self, py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
        static_string(&mut self.statics, py, name)
    }

    fn key_string(&mut self, py: Python<'py>, key: &str) -> Bound<'py, PyString> {
        key_string(&mut self.keys, py, key)
    }
}

/// Strings at least this long are looked up among the long strings already built for this
/// value before a new object is made: comparing is cheaper than decoding and allocating again.
const SHARED_STRING_MIN_BYTES: usize = 256;

/// The long strings built so far for one value, by length. Their text is not kept: a copy of
/// each was a whole message's bytes more at the call's peak. A string of the same length is
/// compared with the built object's text, read back only then (a real repeat, or a rare
/// same-length neighbour).
#[derive(Default)]
struct Repeats<'py> {
    long: Vec<(usize, Bound<'py, PyString>)>,
}

/// The most long strings [`Repeats`] remembers: a payload has a handful of long fields, and a
/// body of thousands of long strings of one length would otherwise compare each with all the
/// earlier ones (a 1 MB body of 3,800 such strings: 238 ms a call, found by review). With the
/// cap, each string costs at most this many comparisons: linear in the body.
const REPEATS_REMEMBERED: usize = 8;

impl<'py> Repeats<'py> {
    fn string(&mut self, py: Python<'py>, text: &str) -> Bound<'py, PyString> {
        if text.len() < SHARED_STRING_MIN_BYTES {
            return PyString::new(py, text);
        }
        let same = self.long.iter().find(|(length, built)| {
            *length == text.len() && built.to_cow().is_ok_and(|existing| *existing == *text)
        });
        if let Some((_, built)) = same {
            return built.clone();
        }
        let built = PyString::new(py, text);
        if self.long.len() < REPEATS_REMEMBERED {
            self.long.push((text.len(), built.clone()));
        }
        built
    }
}

/// Interned Python strings for the core's `&'static str`s, keyed by their address: open
/// addressing in a fixed table, so a lookup is a hash of a pointer and a compare. The core has
/// well under a hundred such names; when the table is full, new names are simply not cached.
const STATIC_SLOTS: usize = 256;

type StaticSlot = Option<(usize, Py<PyString>)>;

thread_local! {
    static STATIC_STRINGS: Cell<Vec<StaticSlot>> = const { Cell::new(Vec::new()) };
}

fn static_string<'py>(
    slots: &mut [StaticSlot],
    py: Python<'py>,
    name: &'static str,
) -> Bound<'py, PyString> {
    // The address identifies the literal; the length guards against a prefix at one address.
    let address = name.as_ptr() as usize ^ (name.len() << 48);
    // Fibonacci hashing: the top bits of a multiply spread nearby addresses over the table, so
    // the probe lengths do not depend on where the linker put the literals.
    #[allow(clippy::cast_possible_truncation)]
    let start = address.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> (usize::BITS - 8);
    for probe in 0..STATIC_SLOTS {
        let index = (start + probe) % STATIC_SLOTS;
        let Some(slot) = slots.get_mut(index) else {
            break;
        };
        match slot {
            Some((key, string)) if *key == address => return string.bind(py).clone(),
            Some(_) => continue,
            None => {
                let string = PyString::intern(py, name);
                *slot = Some((address, string.clone().unbind()));
                return string;
            }
        }
    }
    PyString::intern(py, name)
}

/// Recently built map keys (a payload's own keys, `raw`'s: "msisdn", "status", ...), by their
/// text: the same few dozen keys come in every request, and a cached key skips allocating,
/// decoding and hashing it again for the dict (a str keeps its hash once computed). Direct-
/// mapped, so a key only replaces the one in its slot: the table stays bounded whatever keys a
/// sender invents, and such keys only cost what they did before. Not interned: interned strings
/// are immortal from Python 3.12 on, so a sender's invented keys would never be freed.
const KEY_SLOTS: usize = 512;

/// Longer keys are built each time: ids used as keys would only churn the table.
const KEY_MAX_BYTES: usize = 32;

type KeySlot = Option<(Box<str>, Py<PyString>)>;

thread_local! {
    static KEY_STRINGS: Cell<Vec<KeySlot>> = const { Cell::new(Vec::new()) };
}

/// A struct's dict as it was first built, for the next value of the same struct with the same
/// fields (a field skipped when empty makes another shape). Copying it and replacing the values
/// costs less than growing a new dict key by key (a 16-key dict resizes twice on the way), and
/// fields that are `None` (or a boolean) both times are not set at all.
struct StructShape {
    name: &'static str,
    keys: Vec<&'static str>,
    /// The keys, each with the value the copy already holds, if any worth keeping.
    dict: Py<PyDict>,
    entries: Vec<(Py<PyString>, Option<Py<PyAny>>)>,
}

impl StructShape {
    fn fits(&self, name: &'static str, fields: &[(&'static str, Bound<'_, PyAny>)]) -> bool {
        let same = |a: &str, b: &str| a.len() == b.len() && core::ptr::eq(a.as_ptr(), b.as_ptr());
        same(self.name, name)
            && self.keys.len() == fields.len()
            && self
                .keys
                .iter()
                .zip(fields)
                .all(|(key, (field, _))| same(key, field))
    }
}

/// Values a shape keeps, to skip setting them again: `None` and booleans, the only objects that
/// come back identical and carry nothing of a delivery (a kept string could be a caller's phone
/// number, held by the thread for good).
fn kept(value: &Bound<'_, PyAny>) -> bool {
    value.is_none() || value.is_instance_of::<PyBool>()
}

/// The most struct shapes a thread keeps: the event's types have a few dozen between them.
const SHAPES_KEPT: usize = 64;

thread_local! {
    static STRUCT_SHAPES: Cell<Vec<StructShape>> = const { Cell::new(Vec::new()) };
}

fn key_string<'py>(slots: &mut [KeySlot], py: Python<'py>, key: &str) -> Bound<'py, PyString> {
    if key.len() > KEY_MAX_BYTES {
        return PyString::new(py, key);
    }
    // FNV-1a over at most 32 bytes: the slot's index, not a defence (see above).
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    #[allow(clippy::cast_possible_truncation)]
    let index = (hash >> 32) as usize % KEY_SLOTS;
    let Some(slot) = slots.get_mut(index) else {
        return PyString::new(py, key);
    };
    if let Some((cached, string)) = slot {
        if **cached == *key {
            return string.bind(py).clone();
        }
    }
    let string = PyString::new(py, key);
    *slot = Some((key.into(), string.clone().unbind()));
    string
}

/// A Python error carried through serde's error type.
pub struct Failure(PyErr);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("conversion to Python failed")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("conversion to Python failed")
    }
}

impl std::error::Error for Failure {}

impl ser::Error for Failure {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Failure(PyValueError::new_err(message.to_string()))
    }
}

impl From<PyErr> for Failure {
    fn from(error: PyErr) -> Self {
        Failure(error)
    }
}

struct ToPython<'a, 'py> {
    py: Python<'py>,
    caches: &'a mut Caches<'py>,
    /// A map's key is being built ([`key_string`]).
    is_key: bool,
}

type Built<'py> = Result<Bound<'py, PyAny>, Failure>;

impl<'a, 'py> ToPython<'a, 'py> {
    fn reborrow(&mut self) -> ToPython<'_, 'py> {
        ToPython {
            py: self.py,
            caches: self.caches,
            is_key: false,
        }
    }

    fn number<T: pyo3::IntoPyObjectExt<'py>>(self, value: T) -> Built<'py> {
        Ok(value.into_bound_py_any(self.py)?)
    }

    fn dict(self) -> DictBuilder<'a, 'py> {
        DictBuilder {
            dict: PyDict::new(self.py),
            key: None,
            to_python: self,
        }
    }

    fn list(self) -> ListBuilder<'a, 'py> {
        ListBuilder {
            items: Vec::new(),
            to_python: self,
        }
    }
}

/// Every integer width becomes a Python int the same way.
macro_rules! integers {
    ($($method:ident: $type:ty),* $(,)?) => {
        $(fn $method(self, value: $type) -> Built<'py> {
            self.number(value)
        })*
    };
}

impl<'a, 'py> ser::Serializer for ToPython<'a, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Failure;
    type SerializeSeq = ListBuilder<'a, 'py>;
    type SerializeTuple = ListBuilder<'a, 'py>;
    type SerializeTupleStruct = ListBuilder<'a, 'py>;
    type SerializeTupleVariant = ser::Impossible<Bound<'py, PyAny>, Failure>;
    type SerializeMap = DictBuilder<'a, 'py>;
    type SerializeStruct = StructBuilder<'a, 'py>;
    type SerializeStructVariant = ser::Impossible<Bound<'py, PyAny>, Failure>;

    fn serialize_bool(self, value: bool) -> Built<'py> {
        Ok(PyBool::new(self.py, value).to_owned().into_any())
    }
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128,
    );
    fn serialize_f32(self, value: f32) -> Built<'py> {
        self.serialize_f64(f64::from(value))
    }
    fn serialize_f64(self, value: f64) -> Built<'py> {
        // JSON has no NaN or infinity: serde_json writes them as null, so do the same.
        if value.is_finite() {
            Ok(PyFloat::new(self.py, value).into_any())
        } else {
            self.serialize_none()
        }
    }
    fn serialize_char(self, value: char) -> Built<'py> {
        let mut buffer = [0u8; 4];
        self.serialize_str(value.encode_utf8(&mut buffer))
    }
    fn serialize_str(self, value: &str) -> Built<'py> {
        if self.is_key {
            return Ok(self.caches.key_string(self.py, value).into_any());
        }
        Ok(self.caches.repeats.string(self.py, value).into_any())
    }
    fn serialize_bytes(self, value: &[u8]) -> Built<'py> {
        let mut list = self.list();
        for byte in value {
            ser::SerializeSeq::serialize_element(&mut list, byte)?;
        }
        ser::SerializeSeq::end(list)
    }
    fn serialize_none(self) -> Built<'py> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Built<'py> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Built<'py> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Built<'py> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Built<'py> {
        Ok(self.caches.static_string(self.py, variant).into_any())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Built<'py> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Built<'py> {
        let py = self.py;
        let dict = PyDict::new(py);
        let name = self.caches.static_string(py, variant);
        dict.set_item(name, value.serialize(self)?)?;
        Ok(dict.into_any())
    }
    fn serialize_seq(self, length: Option<usize>) -> Result<ListBuilder<'a, 'py>, Failure> {
        let mut list = self.list();
        list.items.reserve(length.unwrap_or(0));
        Ok(list)
    }
    fn serialize_tuple(self, length: usize) -> Result<ListBuilder<'a, 'py>, Failure> {
        self.serialize_seq(Some(length))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        length: usize,
    ) -> Result<ListBuilder<'a, 'py>, Failure> {
        self.serialize_seq(Some(length))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _length: usize,
    ) -> Result<Self::SerializeTupleVariant, Failure> {
        Err(ser::Error::custom("tuple variants have no JSON form here"))
    }
    fn serialize_map(self, _length: Option<usize>) -> Result<DictBuilder<'a, 'py>, Failure> {
        Ok(self.dict())
    }
    fn serialize_struct(
        self,
        name: &'static str,
        length: usize,
    ) -> Result<StructBuilder<'a, 'py>, Failure> {
        Ok(StructBuilder {
            name,
            fields: Vec::with_capacity(length),
            to_python: self,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _length: usize,
    ) -> Result<Self::SerializeStructVariant, Failure> {
        Err(ser::Error::custom("struct variants have no JSON form here"))
    }
}

struct ListBuilder<'a, 'py> {
    items: Vec<Bound<'py, PyAny>>,
    to_python: ToPython<'a, 'py>,
}

impl<'py> ListBuilder<'_, 'py> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        let item = value.serialize(self.to_python.reborrow())?;
        self.items.push(item);
        Ok(())
    }

    fn build(self) -> Built<'py> {
        Ok(PyList::new(self.to_python.py, self.items)?.into_any())
    }
}

impl<'py> ser::SerializeSeq for ListBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Failure;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.push(value)
    }
    fn end(self) -> Built<'py> {
        self.build()
    }
}

impl<'py> ser::SerializeTuple for ListBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Failure;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.push(value)
    }
    fn end(self) -> Built<'py> {
        self.build()
    }
}

impl<'py> ser::SerializeTupleStruct for ListBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Failure;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.push(value)
    }
    fn end(self) -> Built<'py> {
        self.build()
    }
}

struct DictBuilder<'a, 'py> {
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
    to_python: ToPython<'a, 'py>,
}

impl<'py> ser::SerializeMap for DictBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Failure;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Failure> {
        let as_key = ToPython {
            is_key: true,
            ..self.to_python.reborrow()
        };
        self.key = Some(key.serialize(as_key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Failure as ser::Error>::custom("a map value came without its key"))?;
        let value = value.serialize(self.to_python.reborrow())?;
        self.dict.set_item(key, value)?;
        Ok(())
    }
    fn end(self) -> Built<'py> {
        Ok(self.dict.into_any())
    }
}

/// A struct's fields, collected so that its dict can be a copy of the one its shape had before.
struct StructBuilder<'a, 'py> {
    name: &'static str,
    fields: Vec<(&'static str, Bound<'py, PyAny>)>,
    to_python: ToPython<'a, 'py>,
}

impl<'py> ser::SerializeStruct for StructBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Failure;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        let value = value.serialize(self.to_python.reborrow())?;
        self.fields.push((key, value));
        Ok(())
    }
    fn end(self) -> Built<'py> {
        let StructBuilder {
            name,
            fields,
            to_python,
        } = self;
        let py = to_python.py;
        let caches = to_python.caches;
        if let Some(shape) = caches.shapes.iter().find(|shape| shape.fits(name, &fields)) {
            // A copy has every key in place: each field is a replacement (no insertion, no
            // resize), and one whose object is the one the shape keeps is not set at all.
            let dict = shape.dict.bind(py).copy()?;
            for ((_, value), (key, kept)) in fields.iter().zip(&shape.entries) {
                if !kept.as_ref().is_some_and(|kept| kept.bind(py).is(value)) {
                    dict.set_item(key.bind(py), value)?;
                }
            }
            return Ok(dict.into_any());
        }
        let dict = PyDict::new(py);
        let mut entries = Vec::with_capacity(fields.len());
        for (key, value) in &fields {
            let key = caches.static_string(py, key);
            dict.set_item(&key, value)?;
            entries.push((key.unbind(), kept(value).then(|| value.clone().unbind())));
        }
        if caches.shapes.len() < SHAPES_KEPT {
            let template = PyDict::new(py);
            for (key, kept) in &entries {
                match kept {
                    Some(kept) => template.set_item(key.bind(py), kept.bind(py))?,
                    None => template.set_item(key.bind(py), py.None())?,
                }
            }
            caches.shapes.push(StructShape {
                name,
                keys: fields.iter().map(|(key, _)| *key).collect(),
                dict: template.unbind(),
                entries,
            });
        }
        Ok(dict.into_any())
    }
}
