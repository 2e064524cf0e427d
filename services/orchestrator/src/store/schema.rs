// The tables of orchestrator, the same on SQLite and MySQL (see migrations/).

diesel::table! {
    oc_clusters (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        biz -> Text,
    }
}

diesel::table! {
    oc_services (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        service_type -> Text,
        docker_image -> Text,
        cluster_id -> BigInt,
    }
}

diesel::table! {
    oc_pools (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        vm_type -> BigInt,
        sd_id -> BigInt,
        service_id -> BigInt,
        expand_tpl -> BigInt,
        shrink_tpl -> BigInt,
        deploy_tpl -> BigInt,
    }
}

diesel::table! {
    oc_nodes (id) {
        id -> BigInt,
        pool_id -> BigInt,
        ip -> Text,
        vm_id -> Text,
        status -> Integer,
        node_type -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(oc_clusters, oc_services, oc_pools, oc_nodes);
