// The tables of cmdb, the same on SQLite and MySQL (see migrations/).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        api_key -> Text,
        secret -> Text,
        is_admin -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    attributes (id) {
        id -> BigInt,
        name -> Text,
        alias -> Text,
        value_type -> Text,
        is_choice -> Bool,
        choice_value -> Text,
        is_multivalue -> Bool,
        is_uniq -> Bool,
    }
}

diesel::table! {
    ci_types (id) {
        id -> BigInt,
        name -> Text,
        alias -> Text,
        unique_attr_id -> BigInt,
        icon_url -> Text,
        enabled -> Bool,
    }
}

diesel::table! {
    ci_type_attributes (type_id, attr_id) {
        type_id -> BigInt,
        attr_id -> BigInt,
        is_required -> Bool,
    }
}

diesel::table! {
    cis (id) {
        id -> BigInt,
        type_id -> BigInt,
    }
}

diesel::table! {
    ci_values_int (id) {
        id -> BigInt,
        ci_id -> BigInt,
        attr_id -> BigInt,
        value -> BigInt,
    }
}

diesel::table! {
    ci_values_float (id) {
        id -> BigInt,
        ci_id -> BigInt,
        attr_id -> BigInt,
        value -> Double,
    }
}

diesel::table! {
    ci_values_text (id) {
        id -> BigInt,
        ci_id -> BigInt,
        attr_id -> BigInt,
        value -> Text,
    }
}

diesel::table! {
    ci_values_datetime (id) {
        id -> BigInt,
        ci_id -> BigInt,
        attr_id -> BigInt,
        /// Unix seconds (UTC).
        value -> BigInt,
    }
}

diesel::table! {
    ci_unique_values (attr_id, value) {
        attr_id -> BigInt,
        value -> Text,
        ci_id -> BigInt,
    }
}

diesel::table! {
    ci_type_relations (id) {
        id -> BigInt,
        parent_id -> BigInt,
        child_id -> BigInt,
        relation_type -> Text,
    }
}

diesel::table! {
    ci_relations (id) {
        id -> BigInt,
        first_ci_id -> BigInt,
        second_ci_id -> BigInt,
        relation_type -> Text,
        more -> Nullable<BigInt>,
    }
}

diesel::table! {
    history_records (id) {
        id -> BigInt,
        user_id -> BigInt,
        username -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    history_attrs (id) {
        id -> BigInt,
        record_id -> BigInt,
        ci_id -> BigInt,
        attr_id -> BigInt,
        attr_name -> Text,
        operate -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
    }
}

diesel::table! {
    history_relations (id) {
        id -> BigInt,
        record_id -> BigInt,
        cr_id -> BigInt,
        first_ci_id -> BigInt,
        second_ci_id -> BigInt,
        relation_type -> Text,
        operate -> Text,
    }
}

diesel::table! {
    ci_change_seq (id) {
        id -> BigInt,
        value -> BigInt,
    }
}

diesel::table! {
    ci_changes (id) {
        id -> BigInt,
        seq -> BigInt,
        ci_id -> BigInt,
    }
}
