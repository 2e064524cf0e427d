// The tables of cloud-portal, the same on SQLite and MySQL (see migrations/).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        created_ms -> BigInt,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Text,
        user_id -> BigInt,
        created_ms -> BigInt,
        last_seen_ms -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        created_ms -> BigInt,
        expires_ms -> BigInt,
        used_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    images (id) {
        id -> BigInt,
        name -> Text,
        summary -> Nullable<Text>,
        created_ms -> BigInt,
    }
}

diesel::table! {
    hosts (id) {
        id -> BigInt,
        address -> Text,
        ssh_port -> Integer,
        capacity -> Integer,
        used -> Integer,
        created_ms -> BigInt,
    }
}

diesel::table! {
    instances (id) {
        id -> BigInt,
        user_id -> BigInt,
        image_id -> BigInt,
        name -> Text,
        summary -> Nullable<Text>,
        status -> Integer,
        host_id -> Nullable<BigInt>,
        host_address -> Nullable<Text>,
        vdi_port -> Nullable<Integer>,
        created_ms -> BigInt,
        updated_ms -> BigInt,
    }
}

diesel::table! {
    grants (id) {
        id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        cluster_id -> BigInt,
        granted_by -> Text,
        created_ms -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(instances -> users (user_id));
diesel::joinable!(instances -> images (image_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, images, hosts, instances, grants);
