package qdranttest

import (
	"slices"
	"strings"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unimplemented is the error for a part of Qdrant's API this double does not cover.
func unimplemented(what string) error {
	return status.Errorf(codes.Unimplemented, "qdranttest: %s is not implemented by this test double", what)
}

// matches reports whether p satisfies f, as Qdrant defines it: every must condition
// holds, no must_not condition holds, and at least one should condition holds when there
// are any. A nil or empty filter matches every point.
func matches(f *qdrant.Filter, p *storedPoint) (bool, error) {
	if f == nil {
		return true, nil
	}
	if f.MinShould != nil {
		return false, unimplemented("filter min_should")
	}
	for _, c := range f.GetMust() {
		ok, err := holds(c, p)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, c := range f.GetMustNot() {
		ok, err := holds(c, p)
		if err != nil || ok {
			return false, err
		}
	}
	if len(f.GetShould()) == 0 {
		return true, nil
	}
	for _, c := range f.GetShould() {
		ok, err := holds(c, p)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// holds evaluates one condition on p.
func holds(c *qdrant.Condition, p *storedPoint) (bool, error) {
	switch cond := c.GetConditionOneOf().(type) {
	case *qdrant.Condition_Field:
		return fieldHolds(cond.Field, p)
	case *qdrant.Condition_Filter:
		return matches(cond.Filter, p)
	case *qdrant.Condition_HasId:
		for _, id := range cond.HasId.GetHasId() {
			if k, err := pointKey(id); err == nil && k == p.key {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Condition_IsEmpty:
		vals, err := fieldValues(p, cond.IsEmpty.GetKey())
		if err != nil {
			return false, err
		}
		return len(vals) == 0, nil
	case *qdrant.Condition_IsNull:
		if err := checkKey(cond.IsNull.GetKey()); err != nil {
			return false, err
		}
		v, ok := p.payload[cond.IsNull.GetKey()]
		return ok && isNull(v), nil
	case nil:
		return false, status.Error(codes.InvalidArgument, "qdranttest: empty condition")
	default:
		return false, unimplemented("condition " + strings.TrimPrefix(typeName(cond), "*qdrant.Condition_"))
	}
}

// fieldHolds evaluates a field condition: a match or a range, on any of the field's
// values (a list field matches when one of its elements does).
func fieldHolds(fc *qdrant.FieldCondition, p *storedPoint) (bool, error) {
	vals, err := fieldValues(p, fc.GetKey())
	if err != nil {
		return false, err
	}
	switch {
	case fc.GetGeoBoundingBox() != nil, fc.GetGeoRadius() != nil, fc.GetGeoPolygon() != nil:
		return false, unimplemented("geo conditions")
	case fc.GetValuesCount() != nil, fc.GetDatetimeRange() != nil, fc.IsEmpty != nil, fc.IsNull != nil:
		return false, unimplemented("field condition other than match and range")
	case fc.GetMatch() != nil && fc.GetRange() != nil:
		return false, status.Error(codes.InvalidArgument, "qdranttest: field condition with both match and range")
	case fc.GetMatch() != nil:
		return matchHolds(fc.GetMatch(), vals)
	case fc.GetRange() != nil:
		r := fc.GetRange()
		for _, v := range vals {
			x, ok := number(v)
			if !ok {
				continue
			}
			if (r.Lt == nil || x < r.GetLt()) && (r.Lte == nil || x <= r.GetLte()) &&
				(r.Gt == nil || x > r.GetGt()) && (r.Gte == nil || x >= r.GetGte()) {
				return true, nil
			}
		}
		return false, nil
	default:
		return false, status.Errorf(codes.InvalidArgument, "qdranttest: field condition on %q without match or range", fc.GetKey())
	}
}

func matchHolds(m *qdrant.Match, vals []*qdrant.Value) (bool, error) {
	var eq func(v *qdrant.Value) bool
	switch mv := m.GetMatchValue().(type) {
	case *qdrant.Match_Keyword:
		eq = func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			return ok && s.StringValue == mv.Keyword
		}
	case *qdrant.Match_Keywords:
		eq = func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			return ok && slices.Contains(mv.Keywords.GetStrings(), s.StringValue)
		}
	case *qdrant.Match_Integer:
		eq = func(v *qdrant.Value) bool {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			return ok && i.IntegerValue == mv.Integer
		}
	case *qdrant.Match_Integers:
		eq = func(v *qdrant.Value) bool {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			return ok && slices.Contains(mv.Integers.GetIntegers(), i.IntegerValue)
		}
	case *qdrant.Match_Boolean:
		eq = func(v *qdrant.Value) bool {
			b, ok := v.GetKind().(*qdrant.Value_BoolValue)
			return ok && b.BoolValue == mv.Boolean
		}
	default:
		return false, unimplemented("match " + strings.TrimPrefix(typeName(mv), "*qdrant.Match_"))
	}
	return slices.ContainsFunc(vals, eq), nil
}

// fieldValues returns the values of the top-level payload field key: its elements if it
// is a list, else the value itself; none when it is absent or null.
func fieldValues(p *storedPoint, key string) ([]*qdrant.Value, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	v, ok := p.payload[key]
	if !ok || isNull(v) {
		return nil, nil
	}
	if l, ok := v.GetKind().(*qdrant.Value_ListValue); ok {
		var out []*qdrant.Value
		for _, e := range l.ListValue.GetValues() {
			if !isNull(e) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	return []*qdrant.Value{v}, nil
}

// checkKey refuses keys this double does not resolve: empty ones and nested paths.
func checkKey(key string) error {
	if key == "" {
		return status.Error(codes.InvalidArgument, "qdranttest: condition without a key")
	}
	if strings.ContainsAny(key, ".[") {
		return unimplemented("nested payload key " + key)
	}
	return nil
}

func isNull(v *qdrant.Value) bool {
	_, null := v.GetKind().(*qdrant.Value_NullValue)
	return v == nil || v.GetKind() == nil || null
}

// number returns an integer or double value as a float64, as Qdrant's range compares.
func number(v *qdrant.Value) (float64, bool) {
	switch k := v.GetKind().(type) {
	case *qdrant.Value_IntegerValue:
		return float64(k.IntegerValue), true
	case *qdrant.Value_DoubleValue:
		return k.DoubleValue, true
	}
	return 0, false
}
