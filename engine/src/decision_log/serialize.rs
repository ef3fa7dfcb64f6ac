//! Serde values straight into [`Json`], for [`Json::from_serialize`].
//!
//! The result is exactly what going through `serde_json::Value` gives (integers stay
//! integers, non-finite floats become `null`, enums are externally tagged, map keys are
//! strings, integers, booleans, chars or unit variants) without building the intermediate
//! tree. The few cases whose exact `serde_json` outcome is awkward to reproduce (float map
//! keys, integers beyond 64 bits, every error) report [`Unsupported`], and the caller takes
//! the `serde_json` path for them, so the two never disagree.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::canonical::Json;

/// This value needs the `serde_json` path (see the module doc).
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value needs the serde_json path")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Unsupported {
        Unsupported
    }
}

type Result<T> = std::result::Result<T, Unsupported>;

/// `value` as [`Json`], or [`Unsupported`] when only `serde_json` gets it exactly right.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Json> {
    value.serialize(ValueSerializer)
}

/// The members of `value` that are not `null`, exactly as filtering the object
/// [`Json::from_serialize`] gives; `None` when that is not an object. Structs and maps are
/// read directly, without keeping (or naming) their empty fields; anything else takes the
/// general path.
pub(crate) fn non_null_members<T: Serialize + ?Sized>(value: &T) -> Option<BTreeMap<String, Json>> {
    match value.serialize(NonNullMembers) {
        Ok(members) => Some(members),
        Err(Unsupported) => match Json::from_serialize(value) {
            Ok(Json::Object(members)) => Some(
                members
                    .into_iter()
                    .filter(|(_, v)| *v != Json::Null)
                    .collect(),
            ),
            _ => None,
        },
    }
}

/// Serializer methods for scalars of several types that all become `$value` of `$v`.
macro_rules! scalar_methods {
    ($ret:ty, |$v:ident| $value:expr; $($method:ident($arg:ty)),* $(,)?) => {$(
        fn $method(self, $v: $arg) -> Result<$ret> {
            Ok($value)
        }
    )*};
}

/// Builds one [`Json`] value.
struct ValueSerializer;

/// A one-member object `{variant: value}`: serde's external enum tagging.
fn tagged(variant: &'static str, value: Json) -> Json {
    Json::Object(BTreeMap::from([(variant.to_owned(), value)]))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Json;
    type Error = Unsupported;
    type SerializeSeq = ArrayBuilder;
    type SerializeTuple = ArrayBuilder;
    type SerializeTupleStruct = ArrayBuilder;
    type SerializeTupleVariant = ArrayBuilder;
    type SerializeMap = ObjectBuilder;
    type SerializeStruct = ObjectBuilder;
    type SerializeStructVariant = ObjectBuilder;

    fn serialize_bool(self, v: bool) -> Result<Json> {
        Ok(Json::Bool(v))
    }
    scalar_methods!(Json, |v| Json::int(v);
        serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
    );
    fn serialize_i128(self, _v: i128) -> Result<Json> {
        Err(Unsupported)
    }
    fn serialize_u128(self, _v: u128) -> Result<Json> {
        Err(Unsupported)
    }
    fn serialize_f32(self, v: f32) -> Result<Json> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Json> {
        // `serde_json::Value` has no NaN or infinity: it stores them as `null`.
        Ok(if v.is_finite() {
            Json::Float(v)
        } else {
            Json::Null
        })
    }
    fn serialize_char(self, v: char) -> Result<Json> {
        Ok(Json::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Json> {
        Ok(Json::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Json> {
        Ok(Json::Array(v.iter().map(|&b| Json::int(b)).collect()))
    }
    fn serialize_none(self) -> Result<Json> {
        Ok(Json::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Json> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Json> {
        Ok(Json::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Json> {
        Ok(Json::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Json> {
        Ok(Json::str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Json> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Json> {
        Ok(tagged(variant, value.serialize(ValueSerializer)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ArrayBuilder> {
        Ok(ArrayBuilder {
            variant: None,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<ArrayBuilder> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<ArrayBuilder> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<ArrayBuilder> {
        Ok(ArrayBuilder {
            variant: Some(variant),
            items: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<ObjectBuilder> {
        Ok(ObjectBuilder::new(None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<ObjectBuilder> {
        Ok(ObjectBuilder::new(None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<ObjectBuilder> {
        Ok(ObjectBuilder::new(Some(variant)))
    }
}

/// A sequence, tuple or tuple variant being built.
struct ArrayBuilder {
    /// The variant tag of a tuple variant.
    variant: Option<&'static str>,
    items: Vec<Json>,
}

impl ArrayBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn finish(self) -> Json {
        let array = Json::Array(self.items);
        match self.variant {
            Some(variant) => tagged(variant, array),
            None => array,
        }
    }
}

/// The sequence-like serde traits, which differ only in the name of their push method.
macro_rules! array_builder_impls {
    ($($trait_:ident::$method:ident),*) => {$(
        impl ser::$trait_ for ArrayBuilder {
            type Ok = Json;
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
                self.push(value)
            }
            fn end(self) -> Result<Json> {
                Ok(self.finish())
            }
        }
    )*};
}

array_builder_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// A map, struct or struct variant being built. A repeated key keeps its last value, as
/// `serde_json`'s map does.
struct ObjectBuilder {
    /// The variant tag of a struct variant.
    variant: Option<&'static str>,
    members: BTreeMap<String, Json>,
    next_key: Option<String>,
}

impl ObjectBuilder {
    fn new(variant: Option<&'static str>) -> ObjectBuilder {
        ObjectBuilder {
            variant,
            members: BTreeMap::new(),
            next_key: None,
        }
    }

    fn finish(self) -> Json {
        let object = Json::Object(self.members);
        match self.variant {
            Some(variant) => tagged(variant, object),
            None => object,
        }
    }
}

impl ser::SerializeMap for ObjectBuilder {
    type Ok = Json;
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.next_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .next_key
            .take()
            .expect("serialize_value called before serialize_key");
        self.members.insert(key, value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Json> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for ObjectBuilder {
    type Ok = Json;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.members
            .insert(key.to_owned(), value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Json> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for ObjectBuilder {
    type Ok = Json;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<Json> {
        Ok(self.finish())
    }
}

/// Serializer methods that answer [`Unsupported`] whatever they are given.
macro_rules! unsupported {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret> {
            Err(Unsupported)
        }
    )*};
}

/// The top level of [`non_null_members`]: a struct or a map, whose `null` members are left
/// out as they come. Everything else is [`Unsupported`] here.
struct NonNullMembers;

/// A struct or map whose `null` members are left out. A key set twice keeps its last value,
/// and is left out when that value is `null`, as filtering the finished object would.
#[derive(Default)]
struct NonNullObject {
    members: BTreeMap<String, Json>,
    next_key: Option<String>,
}

impl NonNullObject {
    fn set(&mut self, key: String, value: Json) {
        if value == Json::Null {
            self.members.remove(&key);
        } else {
            self.members.insert(key, value);
        }
    }
}

impl ser::SerializeStruct for NonNullObject {
    type Ok = BTreeMap<String, Json>;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        let value = value.serialize(ValueSerializer)?;
        // Most fields of a metadata struct are empty: their names are never allocated.
        if value == Json::Null {
            self.members.remove(key);
        } else {
            self.members.insert(key.to_owned(), value);
        }
        Ok(())
    }
    fn end(self) -> Result<BTreeMap<String, Json>> {
        Ok(self.members)
    }
}

impl ser::SerializeMap for NonNullObject {
    type Ok = BTreeMap<String, Json>;
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.next_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .next_key
            .take()
            .expect("serialize_value called before serialize_key");
        let value = value.serialize(ValueSerializer)?;
        self.set(key, value);
        Ok(())
    }
    fn end(self) -> Result<BTreeMap<String, Json>> {
        Ok(self.members)
    }
}

impl ser::Serializer for NonNullMembers {
    type Ok = BTreeMap<String, Json>;
    type Error = Unsupported;
    type SerializeSeq = Impossible<Self::Ok, Unsupported>;
    type SerializeTuple = Impossible<Self::Ok, Unsupported>;
    type SerializeTupleStruct = Impossible<Self::Ok, Unsupported>;
    type SerializeTupleVariant = Impossible<Self::Ok, Unsupported>;
    type SerializeMap = NonNullObject;
    type SerializeStruct = NonNullObject;
    type SerializeStructVariant = Impossible<Self::Ok, Unsupported>;

    fn serialize_map(self, _len: Option<usize>) -> Result<NonNullObject> {
        Ok(NonNullObject::default())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<NonNullObject> {
        Ok(NonNullObject::default())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    unsupported! {
        serialize_bool(bool) -> Self::Ok;
        serialize_i8(i8) -> Self::Ok;
        serialize_i16(i16) -> Self::Ok;
        serialize_i32(i32) -> Self::Ok;
        serialize_i64(i64) -> Self::Ok;
        serialize_u8(u8) -> Self::Ok;
        serialize_u16(u16) -> Self::Ok;
        serialize_u32(u32) -> Self::Ok;
        serialize_u64(u64) -> Self::Ok;
        serialize_f32(f32) -> Self::Ok;
        serialize_f64(f64) -> Self::Ok;
        serialize_char(char) -> Self::Ok;
        serialize_str(&str) -> Self::Ok;
        serialize_bytes(&[u8]) -> Self::Ok;
        serialize_none() -> Self::Ok;
        serialize_unit() -> Self::Ok;
        serialize_unit_struct(&'static str) -> Self::Ok;
        serialize_unit_variant(&'static str, u32, &'static str) -> Self::Ok;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Self::Ok> {
        Err(Unsupported)
    }
}

/// Map keys: the ones `serde_json` turns into a string without formatting a float.
struct KeySerializer;

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = Impossible<String, Unsupported>;
    type SerializeTuple = Impossible<String, Unsupported>;
    type SerializeTupleStruct = Impossible<String, Unsupported>;
    type SerializeTupleVariant = Impossible<String, Unsupported>;
    type SerializeMap = Impossible<String, Unsupported>;
    type SerializeStruct = Impossible<String, Unsupported>;
    type SerializeStructVariant = Impossible<String, Unsupported>;

    scalar_methods!(String, |v| v.to_string();
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_char(char),
    );
    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String> {
        Err(Unsupported)
    }
    unsupported! {
        serialize_f32(f32) -> String;
        serialize_f64(f64) -> String;
        serialize_bytes(&[u8]) -> String;
        serialize_none() -> String;
        serialize_unit() -> String;
        serialize_unit_struct(&'static str) -> String;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{ArbDirection, Intent, Regime, SignalLeg, SignalMetadata, SignalSide};
    use proptest::prelude::*;
    use serde::Serialize;

    /// The path this module replaces: through `serde_json::Value`.
    fn via_value<T: Serialize + ?Sized>(value: &T) -> std::result::Result<Json, String> {
        serde_json::to_value(value)
            .map(|v| Json::from(&v))
            .map_err(|e| e.to_string())
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Wrapper(f64);

    #[derive(Serialize)]
    struct Pair(i32, &'static str);

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Dot,
        Circle(f64),
        Segment(i64, i64),
        Box { w: u32, h: Option<f32> },
    }

    #[derive(Serialize)]
    struct Everything {
        flag: bool,
        small: i8,
        big: u64,
        neg: i64,
        ratio: f32,
        maybe: Option<f64>,
        name: String,
        initial: char,
        unit: (),
        unit_struct: Unit,
        wrapper: Wrapper,
        pair: Pair,
        shapes: Vec<Shape>,
        tuple: (u8, bool),
        #[serde(with = "serde_bytes_like")]
        raw: Vec<u8>,
        by_int: BTreeMap<i32, &'static str>,
        by_bool: BTreeMap<bool, u8>,
        by_char: BTreeMap<char, u8>,
        by_variant: BTreeMap<ArbDirection, u8>,
    }

    /// Serialises bytes with `serialize_bytes` (serde serialises `Vec<u8>` as a sequence).
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn every_serde_shape_matches_serde_json() {
        let everything = Everything {
            flag: true,
            small: -8,
            big: u64::MAX,
            neg: i64::MIN,
            ratio: 0.1,
            maybe: None,
            name: "a \"name\"\n".into(),
            initial: 'é',
            unit: (),
            unit_struct: Unit,
            wrapper: Wrapper(f64::NAN),
            pair: Pair(-1, "x"),
            shapes: vec![
                Shape::Dot,
                Shape::Circle(f64::INFINITY),
                Shape::Segment(1, -2),
                Shape::Box { w: 3, h: Some(1.5) },
                Shape::Box { w: 4, h: None },
            ],
            tuple: (7, false),
            raw: vec![0, 255],
            by_int: BTreeMap::from([(-1, "m"), (10, "t"), (2, "s")]),
            by_bool: BTreeMap::from([(true, 1), (false, 0)]),
            by_char: BTreeMap::from([('z', 1), ('a', 2)]),
            by_variant: BTreeMap::from([
                (ArbDirection::ShortPrimaryLongSecondary, 1),
                (ArbDirection::LongPrimaryShortSecondary, 2),
            ]),
        };
        assert_eq!(to_json(&everything).ok(), via_value(&everything).ok());
        let legs = vec![SignalLeg {
            symbol: crate::domain::Symbol::new("BTC_USDT").unwrap(),
            side: crate::domain::Side::Buy,
            quantity: 0.25,
            venue: crate::domain::VenueId::new("kraken").unwrap(),
            price: 60_000.5,
        }];
        assert_eq!(to_json(&legs).ok(), via_value(&legs).ok());
        for side in [
            SignalSide::Buy,
            SignalSide::Open(ArbDirection::LongPrimaryShortSecondary),
        ] {
            assert_eq!(to_json(&side).ok(), via_value(&side).ok());
        }
        assert_eq!(
            to_json(&Intent::MultiLeg).ok(),
            via_value(&Intent::MultiLeg).ok()
        );
    }

    #[test]
    fn what_only_serde_json_gets_right_is_left_to_it() {
        let cases: [(&str, Result<Json>); 4] = [
            ("i128", to_json(&(1i128 << 70))),
            ("u128", to_json(&7u128)),
            ("float key", {
                struct FloatKey;
                impl Serialize for FloatKey {
                    fn serialize<S: serde::Serializer>(
                        &self,
                        s: S,
                    ) -> std::result::Result<S::Ok, S::Error> {
                        use serde::ser::SerializeMap;
                        let mut m = s.serialize_map(Some(1))?;
                        m.serialize_entry(&1.5f64, &1)?;
                        m.end()
                    }
                }
                to_json(&FloatKey)
            }),
            ("unit key", to_json(&BTreeMap::from([((), 1)]))),
        ];
        for (name, got) in cases {
            assert!(got.is_err(), "{name}");
        }
        // And the public entry point still gives serde_json's answer for them.
        assert_eq!(
            Json::from_serialize(&7u128),
            Ok(Json::int(7)),
            "small u128 through serde_json"
        );
        assert!(Json::from_serialize(&(1i128 << 70)).is_err());
    }

    /// [`non_null_members`] the long way: the whole object, filtered.
    fn filtered<T: Serialize + ?Sized>(value: &T) -> Option<BTreeMap<String, Json>> {
        match Json::from_serialize(value) {
            Ok(Json::Object(m)) => Some(m.into_iter().filter(|(_, v)| *v != Json::Null).collect()),
            _ => None,
        }
    }

    /// A map that sets one key twice.
    struct Twice(Option<i32>, Option<i32>);
    impl Serialize for Twice {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("k", &self.0)?;
            m.serialize_entry("k", &self.1)?;
            m.end()
        }
    }

    #[test]
    fn non_null_members_filter_exactly_like_the_whole_object() {
        let everything_but_bytes =
            BTreeMap::from([("a", Some(1.5)), ("b", None), ("c", Some(f64::NAN))]);
        assert_eq!(
            non_null_members(&everything_but_bytes),
            filtered(&everything_but_bytes)
        );
        for twice in [
            Twice(Some(1), None),
            Twice(None, Some(2)),
            Twice(Some(1), Some(2)),
            Twice(None, None),
        ] {
            assert_eq!(non_null_members(&twice), filtered(&twice));
        }
        // Not objects, or only through serde_json: the general path answers.
        assert_eq!(non_null_members(&3), None);
        assert_eq!(
            non_null_members(&Shape::Box { w: 1, h: None }),
            filtered(&Shape::Box { w: 1, h: None })
        );
        assert_eq!(
            non_null_members(&BTreeMap::from([(1u128 << 70, 1)])),
            filtered(&BTreeMap::from([(1u128 << 70, 1)]))
        );
        assert_eq!(
            non_null_members(&BTreeMap::from([("big", 1u128 << 70)])),
            None
        );
        assert_eq!(
            non_null_members(&SignalMetadata::default()),
            Some(BTreeMap::new())
        );
    }

    proptest! {
        /// Signal metadata, the hot case, matches for any values (NaN and infinities too).
        #[test]
        fn signal_metadata_matches_serde_json(
            values in proptest::collection::vec(
                prop_oneof![
                    Just(None),
                    any::<f64>().prop_map(Some),
                    (-1e9..1e9f64).prop_map(Some),
                    prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)].prop_map(Some),
                ],
                15,
            ),
            regime in prop_oneof![Just(None), Just(Some(Regime::LongEntry)), Just(Some(Regime::ShortExit))],
        ) {
            let m = crate::strategy::tests::metadata_from(&values, regime);
            prop_assert_eq!(to_json(&m).ok(), via_value(&m).ok());
            prop_assert_eq!(non_null_members(&m).map(|m| Json::Object(m).canonical()), filtered(&m).map(|m| Json::Object(m).canonical()));
        }
    }
}
