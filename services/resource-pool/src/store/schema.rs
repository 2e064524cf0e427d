// The tables of resource-pool, the same on SQLite and MySQL (see migrations/).

diesel::table! {
    owners (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    businesses (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    servers (id) {
        id -> BigInt,
        ip -> Text,
        name -> Text,
        os -> Text,
        stat -> Integer,
        owner_id -> Nullable<BigInt>,
        owner_name -> Text,
        online_date -> Timestamp,
    }
}

diesel::table! {
    instances (id) {
        id -> BigInt,
        server_id -> BigInt,
        port -> Integer,
        name -> Text,
        level -> Text,
        stat -> Integer,
        business_id -> Nullable<BigInt>,
        business -> Text,
        owner_id -> Nullable<BigInt>,
        owner -> Text,
        db_type -> Text,
        ha_type -> Text,
        online_date -> Timestamp,
    }
}

diesel::table! {
    dbs (id) {
        id -> BigInt,
        instance_id -> BigInt,
        name -> Text,
        level -> Text,
        stat -> Integer,
        business_id -> Nullable<BigInt>,
        business -> Text,
        owner_id -> Nullable<BigInt>,
        owner_name -> Text,
        online_date -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        model -> Text,
        action -> Text,
        entity -> Text,
        target -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        request_id -> Text,
        who -> Text,
    }
}

diesel::joinable!(instances -> servers (server_id));
diesel::joinable!(dbs -> instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(
    owners, businesses, servers, instances, dbs, audit_log
);
